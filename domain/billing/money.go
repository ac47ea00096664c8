package billing

import (
	"fmt"
	"math"

	"github.com/tidemark/tidemark/domain/energy"
)

// ErrOverflow: a sum of sun no longer fits in int64. It wraps
// energy.ErrOverflow, so errors.Is works with either.
var ErrOverflow = fmt.Errorf("billing: %w", energy.ErrOverflow)

// addSun returns a+b, or ErrOverflow when it does not fit in int64.
func addSun(a, b int64) (int64, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, fmt.Errorf("%d + %d: %w", a, b, ErrOverflow)
	}
	return a + b, nil
}

// subSun returns a-b, or ErrOverflow when it does not fit in int64.
func subSun(a, b int64) (int64, error) {
	if (b < 0 && a > math.MaxInt64+b) || (b > 0 && a < math.MinInt64+b) {
		return 0, fmt.Errorf("%d - %d: %w", a, b, ErrOverflow)
	}
	return a - b, nil
}
