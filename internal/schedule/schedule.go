// Package schedule is the mechanism of `relator schedule`: it parses a cron
// spec, fires its ticks, and runs one pass per tick across every replica
// that shares the database, holding a PostgreSQL advisory lock while the
// pass runs and recording each tick in schedule_ticks so that no replica
// runs a tick another one has run already.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is a parsed spec: when its ticks fire. Only Parse makes one.
type Schedule struct {
	spec  string
	sched cron.Schedule
}

// Parse reads a spec: a standard 5-field cron line ("30 2 * * *"), a
// descriptor (@yearly, @monthly, @weekly, @daily, @midnight, @hourly) or
// "@every D" (D at least 1s), optionally after CRON_TZ=Zone or TZ=Zone.
//
// A spec without a zone is in UTC, not in the machine's zone, so that
// replicas in differently configured containers fire at the same instants
// ("CRON_TZ=Local" asks for the machine's zone). "@every D" fires at the
// multiples of D since the Unix epoch, whatever the zone, rather than D after
// the process started: every replica computes the same ticks.
func Parse(spec string) (Schedule, error) {
	s, err := parse(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("invalid schedule %q: %w", spec, err)
	}
	return s, nil
}

func parse(spec string) (Schedule, error) {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return Schedule{}, fmt.Errorf("empty spec")
	}
	name := strings.Join(fields, " ")
	zone := "UTC"
	if f := fields[0]; strings.HasPrefix(f, "TZ=") || strings.HasPrefix(f, "CRON_TZ=") {
		zone = f[strings.Index(f, "=")+1:]
		if _, err := time.LoadLocation(zone); err != nil {
			return Schedule{}, fmt.Errorf("time zone %q: %w", zone, err)
		}
		fields = fields[1:]
		if len(fields) == 0 {
			return Schedule{}, fmt.Errorf("nothing after the time zone")
		}
	}
	if fields[0] == "@every" {
		if len(fields) != 2 {
			return Schedule{}, fmt.Errorf("@every takes one duration, e.g. @every 5m")
		}
		d, err := time.ParseDuration(fields[1])
		if err != nil {
			return Schedule{}, fmt.Errorf("@every: %w", err)
		}
		if d < time.Second {
			return Schedule{}, fmt.Errorf("@every %s: shorter than 1s", d)
		}
		return Schedule{spec: name, sched: every{d}}, nil
	}
	sched, err := cron.ParseStandard("CRON_TZ=" + zone + " " + strings.Join(fields, " "))
	if err != nil {
		return Schedule{}, err
	}
	return Schedule{spec: name, sched: sched}, nil
}

// String is the spec, its fields separated by single spaces: the name of
// the schedule's ticks in schedule_ticks.
func (s Schedule) String() string { return s.spec }

// Next is the first tick strictly after t (cron.Schedule). Ticks have whole
// seconds for cron specs; the zero time means none within five years.
func (s Schedule) Next(t time.Time) time.Time { return s.sched.Next(t) }

// NextN is the n ticks that follow t, in order.
func (s Schedule) NextN(t time.Time, n int) []time.Time {
	ticks := make([]time.Time, 0, n)
	for range n {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// every fires at the multiples of d since the Unix epoch: the same instants
// wherever and whenever it is computed, unlike cron.ConstantDelaySchedule,
// which counts from the time it is asked.
type every struct{ d time.Duration }

var _ cron.Schedule = every{}

// Next is the first multiple of d since the epoch strictly after t, in t's
// location.
func (e every) Next(t time.Time) time.Time {
	n, d := t.UnixNano(), int64(e.d)
	q := n / d
	if n%d < 0 { // floor, not truncation, before the epoch
		q--
	}
	return time.Unix(0, (q+1)*d).In(t.Location())
}
