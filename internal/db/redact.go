package db

import (
	"net/url"
	"regexp"
)

// passwordKV matches the password of a key=value connection string, quoted
// or not.
var passwordKV = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Redact is a connection string fit for a log line or an error: its
// password, in the URL's user info, a password= parameter or a key=value
// pair, is replaced by xxxxx.
func Redact(conn string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return passwordKV.ReplaceAllString(conn, "${1}xxxxx")
}
