package progress

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// newBar draws a bar of done/total events with their rate, the elapsed and
// remaining time and, as its description, what the model cost so far. An
// unknown total (0) gets a spinner with the count instead of a bar.
func newBar(out io.Writer, total int, throttle time.Duration, description string) *progressbar.ProgressBar {
	max := total
	if max <= 0 {
		max = -1 // progressbar's "length unknown"
	}
	return progressbar.NewOptions(max,
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(throttle),
		// No spinner of its own: its redraw goroutine would outlive Exit.
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(out) }),
	)
}
