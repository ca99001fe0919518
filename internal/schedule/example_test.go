package schedule_test

import (
	"fmt"
	"time"

	"github.com/relator/relator/internal/schedule"
)

// What `relator schedule` prints at start: the spec and its next ticks.
func ExampleParse() {
	from := time.Date(2025, 3, 10, 12, 7, 30, 0, time.UTC)
	for _, spec := range []string{"30 2 * * *", "CRON_TZ=Europe/Berlin 30 2 * * *", "@every 15m"} {
		s, err := schedule.Parse(spec)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s)
		for _, t := range s.NextN(from, 3) {
			fmt.Println(" ", t.UTC().Format(time.RFC3339))
		}
	}
	_, err := schedule.Parse("@every 100ms")
	fmt.Println(err)
	// Output:
	// 30 2 * * *
	//   2025-03-11T02:30:00Z
	//   2025-03-12T02:30:00Z
	//   2025-03-13T02:30:00Z
	// CRON_TZ=Europe/Berlin 30 2 * * *
	//   2025-03-11T01:30:00Z
	//   2025-03-12T01:30:00Z
	//   2025-03-13T01:30:00Z
	// @every 15m
	//   2025-03-10T12:15:00Z
	//   2025-03-10T12:30:00Z
	//   2025-03-10T12:45:00Z
	// invalid schedule "@every 100ms": @every 100ms: shorter than 1s
}
