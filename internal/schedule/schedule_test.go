package schedule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/relator/relator/internal/schedule"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseNextTicks(t *testing.T) {
	for _, c := range []struct {
		spec string
		from string
		want []string // the next three ticks, UTC
	}{
		{"30 2 * * *", "2025-03-10T12:00:00Z", []string{"2025-03-11T02:30:00Z", "2025-03-12T02:30:00Z", "2025-03-13T02:30:00Z"}},
		{"*/15 * * * *", "2025-03-10T12:07:30Z", []string{"2025-03-10T12:15:00Z", "2025-03-10T12:30:00Z", "2025-03-10T12:45:00Z"}},
		{"0 9 * * MON-FRI", "2025-03-07T10:00:00Z", []string{"2025-03-10T09:00:00Z", "2025-03-11T09:00:00Z", "2025-03-12T09:00:00Z"}},
		{"@daily", "2025-03-10T12:00:00Z", []string{"2025-03-11T00:00:00Z", "2025-03-12T00:00:00Z", "2025-03-13T00:00:00Z"}},
		{"@hourly", "2025-03-10T12:00:00Z", []string{"2025-03-10T13:00:00Z", "2025-03-10T14:00:00Z", "2025-03-10T15:00:00Z"}},
		// A zone prefix: 09:00 in Tokyo is 00:00 UTC.
		{"CRON_TZ=Asia/Tokyo 0 9 * * *", "2025-03-10T01:00:00Z", []string{"2025-03-11T00:00:00Z", "2025-03-12T00:00:00Z", "2025-03-13T00:00:00Z"}},
		{"TZ=America/New_York 0 0 * * *", "2025-03-10T12:00:00Z", []string{"2025-03-11T04:00:00Z", "2025-03-12T04:00:00Z", "2025-03-13T04:00:00Z"}},
		// @every counts from the epoch: 12:07:30 is past the 12:05 multiple of 5m.
		{"@every 5m", "2025-03-10T12:07:30Z", []string{"2025-03-10T12:10:00Z", "2025-03-10T12:15:00Z", "2025-03-10T12:20:00Z"}},
		{"@every 5s", "2025-03-10T12:00:00.4Z", []string{"2025-03-10T12:00:05Z", "2025-03-10T12:00:10Z", "2025-03-10T12:00:15Z"}},
		{"@every 24h", "2025-03-10T12:00:00Z", []string{"2025-03-11T00:00:00Z", "2025-03-12T00:00:00Z", "2025-03-13T00:00:00Z"}},
		// A zone does not move @every's ticks: they are multiples of D in UTC.
		{"CRON_TZ=Asia/Kolkata @every 1h", "2025-03-10T12:00:00Z", []string{"2025-03-10T13:00:00Z", "2025-03-10T14:00:00Z", "2025-03-10T15:00:00Z"}},
	} {
		t.Run(c.spec, func(t *testing.T) {
			s, err := schedule.Parse(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			got := s.NextN(mustTime(t, c.from), 3)
			if len(got) != len(c.want) {
				t.Fatalf("NextN = %v, want %v", got, c.want)
			}
			for i := range got {
				if want := mustTime(t, c.want[i]); !got[i].Equal(want) {
					t.Errorf("tick %d = %s, want %s", i, got[i].UTC().Format(time.RFC3339Nano), c.want[i])
				}
			}
		})
	}
}

// A spec without a zone is in UTC whatever the machine's zone, so replicas
// configured differently fire together.
func TestParseDefaultsToUTC(t *testing.T) {
	s, err := schedule.Parse("0 3 * * *")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2025, 3, 10, 0, 0, 0, 0, tokyo) // 2025-03-09T15:00Z
	if got, want := s.Next(from), mustTime(t, "2025-03-10T03:00:00Z"); !got.Equal(want) {
		t.Errorf("Next = %s, want %s", got.UTC(), want)
	}
}

func TestParseInvalidNamesTheSpec(t *testing.T) {
	for _, spec := range []string{
		"",
		"   ",
		"* * *",
		"61 * * * *",
		"0 0 * * * *", // six fields: seconds are not part of a standard spec
		"@sometimes",
		"@every",
		"@every soon",
		"@every 500ms",
		"@every -1m",
		"@every 1m 2m",
		"TZ=Nowhere/City 0 * * * *",
		"CRON_TZ=UTC",
		"TZ=UTC",
	} {
		_, err := schedule.Parse(spec)
		if err == nil {
			t.Errorf("Parse(%q): no error", spec)
			continue
		}
		if want := `invalid schedule "` + spec + `"`; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Parse(%q) = %q, want it to start with %q", spec, err, want)
		}
	}
}

// Two schedules parsed at different moments, asked at different moments of
// the same interval, name the same next tick: @every is aligned to the
// epoch, not to when the process started.
func TestEveryIsAlignedToTheEpoch(t *testing.T) {
	a, err := schedule.Parse("@every 7s")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // a replica that came up a little later
	b, err := schedule.Parse("@every 7s")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Unix(1_750_000_003, 0) // 1_750_000_003 = 7·250_000_000 + 3
	for _, c := range []struct{ aAt, bAt time.Duration }{
		{0, 3200 * time.Millisecond},
		{10 * time.Millisecond, 3999 * time.Millisecond},
		{2 * time.Second, 2 * time.Second},
	} {
		na, nb := a.Next(base.Add(c.aAt)), b.Next(base.Add(c.bAt))
		if !na.Equal(nb) {
			t.Errorf("Next at +%s = %s, Next at +%s = %s: replicas disagree", c.aAt, na, c.bAt, nb)
		}
		if want := time.Unix(1_750_000_007, 0); !na.Equal(want) {
			t.Errorf("Next = %s, want %s", na, want)
		}
	}

	// On a tick, the next one is one interval later; before the epoch too.
	if got, want := a.Next(time.Unix(1_750_000_007, 0)), time.Unix(1_750_000_014, 0); !got.Equal(want) {
		t.Errorf("Next on a tick = %s, want %s", got, want)
	}
	if got, want := a.Next(time.Unix(-10, 0)), time.Unix(-7, 0); !got.Equal(want) {
		t.Errorf("Next before the epoch = %v, want %v", got.Unix(), want.Unix())
	}

	// Now: the next tick is a multiple of 7 s, at most 7 s away.
	now := time.Now()
	next := b.Next(now)
	if next.UnixNano()%int64(7*time.Second) != 0 || !next.After(now) || next.Sub(now) > 7*time.Second {
		t.Errorf("Next(%s) = %s, not the following multiple of 7s", now, next)
	}
}

func TestStringIsTheSpec(t *testing.T) {
	s, err := schedule.Parse("  CRON_TZ=Europe/Berlin   30 2 * * * ")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "CRON_TZ=Europe/Berlin 30 2 * * *"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestNextNStopsWhenNothingIsDue(t *testing.T) {
	s, err := schedule.Parse("0 0 30 2 *") // February 30th
	if err != nil {
		t.Fatal(err)
	}
	if got := s.NextN(time.Now(), 3); len(got) != 0 {
		t.Errorf("NextN = %v, want none", got)
	}
}
