package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"

	"github.com/jackc/tern/v2/migrate"
)

// migrationFile is a migration's file name: NNN_name.sql.
var migrationFile = regexp.MustCompile(`^(\d+)_.+\.sql$`)

// numberedFiles lists the embedded migrations by number: names[n-1] is
// migration n's file. A number missing below the highest is an error: a
// database migrated past a gap would never get the migration that later
// fills it.
func numberedFiles() ([]string, error) {
	entries, err := fs.ReadDir(files, "sql")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		m := migrationFile.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("migration %s: bad number", e.Name())
		}
		for len(names) < n {
			names = append(names, "")
		}
		if names[n-1] != "" {
			return nil, fmt.Errorf("migrations %s and %s share number %d", names[n-1], e.Name(), n)
		}
		names[n-1] = e.Name()
	}
	for i, name := range names {
		if name == "" {
			return nil, fmt.Errorf("migration %03d is missing (numbers must have no gaps)", i+1)
		}
	}
	return names, nil
}

// Load appends the embedded migrations to m in order: what Migrate
// applies, for tests that migrate step by step.
func Load(m *migrate.Migrator) error {
	names, err := numberedFiles()
	if err != nil {
		return err
	}
	for _, name := range names {
		sql, err := fs.ReadFile(files, path.Join("sql", name))
		if err != nil {
			return err
		}
		m.AppendMigration(name, string(sql), "")
	}
	return nil
}
