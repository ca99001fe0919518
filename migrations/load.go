package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"

	"github.com/jackc/tern/v2/migrate"
)

// fileName is a migration's file name: its number, an underscore, a name.
var fileName = regexp.MustCompile(`^(\d+)_.+\.sql$`)

// reservedSQL stands in for a migration number that another line of work
// has taken and this build does not have: migration numbers are assigned
// per branch so that merges never collide, which leaves gaps on each
// branch until they are merged. A full tree has no gaps, and then nothing
// is filled.
const reservedSQL = "SELECT 1 -- migration number reserved for a change not in this build"

// numbered returns the embedded migrations indexed by number - 1, with ""
// for a number without a file.
func numbered() ([]string, error) {
	entries, err := fs.ReadDir(files, "sql")
	if err != nil {
		return nil, err
	}
	var byNumber []string
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("migration %s: bad number", e.Name())
		}
		for len(byNumber) < n {
			byNumber = append(byNumber, "")
		}
		if byNumber[n-1] != "" {
			return nil, fmt.Errorf("duplicate migration %d: %s and %s", n, byNumber[n-1], e.Name())
		}
		byNumber[n-1] = e.Name()
	}
	return byNumber, nil
}

// Load appends the embedded migrations to m in order, filling gaps with
// reservedSQL (see there).
func Load(m *migrate.Migrator) error {
	byNumber, err := numbered()
	if err != nil {
		return err
	}
	for i, name := range byNumber {
		if name == "" {
			m.AppendMigration(fmt.Sprintf("%03d_reserved.sql", i+1), reservedSQL, "")
			continue
		}
		sql, err := fs.ReadFile(files, path.Join("sql", name))
		if err != nil {
			return err
		}
		m.AppendMigration(name, string(sql), "")
	}
	return nil
}
