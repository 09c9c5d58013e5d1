// Package migrations holds the PostgreSQL schema of bounced as numbered plain
// SQL files (NNN_name.sql), embedded into the binary.
//
// Files are applied in the order of their number by store.Migrate, each in
// its own transaction, and recorded with a checksum: a file that has been
// applied must never be edited. Change the schema by adding a new file. A file
// must not contain transaction control statements (BEGIN, COMMIT).
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// FS holds the migration files, NNN_name.sql, at its root.
var FS fs.FS = files
