"""The warehouse service's HTTP interface (an edge): the one process that owns chDB answers here."""
