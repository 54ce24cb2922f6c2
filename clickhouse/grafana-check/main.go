// grafana-check: the Go client inside Grafana's ClickHouse data source (clickhouse-go v2,
// HTTP protocol) against ghlake's ClickHouse interface.
//
//	grafana-check -addr 127.0.0.1:8123 -user U -password P [-lz4] < statements
//
// Statements are separated by lines holding only ";;". For each one it prints
// "#columns name type ...", the rows (tab-separated), "#end <rows>", or "#error <text>".
// clickhouse-go asks for Native with client_protocol_version and decodes it as a
// revision-aware client, as Grafana does.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8123", "host:port of the ClickHouse HTTP interface")
	user := flag.String("user", "default", "user")
	password := flag.String("password", "", "password")
	lz4 := flag.Bool("lz4", false, "ask for LZ4 compressed blocks")
	flag.Parse()

	options := &clickhouse.Options{
		Addr:     []string{*addr},
		Protocol: clickhouse.HTTP,
		Auth:     clickhouse.Auth{Username: *user, Password: *password},
	}
	if *lz4 {
		options.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	}
	conn, err := clickhouse.Open(options)
	if err != nil {
		fmt.Println("#error", err)
		os.Exit(1)
	}
	defer conn.Close()
	ctx := context.Background()
	version, err := conn.ServerVersion()
	if err != nil {
		fmt.Println("#error", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
	fmt.Printf("#connected %s revision %d\n", version.Version.String(), version.Revision)

	var statements []string
	var current strings.Builder
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for scanner.Scan() {
		if scanner.Text() == ";;" {
			statements = append(statements, current.String())
			current.Reset()
			continue
		}
		current.WriteString(scanner.Text())
		current.WriteString("\n")
	}
	if strings.TrimSpace(current.String()) != "" {
		statements = append(statements, current.String())
	}
	for _, sql := range statements {
		run(ctx, conn, sql)
	}
}

func run(ctx context.Context, conn clickhouse.Conn, sql string) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		fmt.Println("#error", strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	head := make([]string, len(types))
	for i, column := range types {
		head[i] = column.Name() + " " + column.DatabaseTypeName()
	}
	fmt.Println("#columns " + strings.Join(head, "\t"))
	count := 0
	for rows.Next() {
		values := make([]any, len(types))
		for i, column := range types {
			values[i] = newValue(column.ScanType())
		}
		if err := rows.Scan(values...); err != nil {
			fmt.Println("#error", strings.ReplaceAll(err.Error(), "\n", " "))
			return
		}
		cells := make([]string, len(values))
		for i, value := range values {
			cells[i] = fmt.Sprint(deref(value))
		}
		fmt.Println(strings.Join(cells, "\t"))
		count++
	}
	if err := rows.Err(); err != nil {
		fmt.Println("#error", strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	fmt.Printf("#end %d\n", count)
}
