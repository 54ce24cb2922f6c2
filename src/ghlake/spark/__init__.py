"""The Spark edge: sessions, the typed event stream, lag visibility (spark/ jobs, notebooks).

Runs only in the Spark environment (``ghlake spark install``; pyspark is not a dependency
of ghlake). Everything is built from ``Platform(load_settings())``: the master URL, the
jars, s3a to the lake's bucket, the topic.
"""
