package formula

import (
	"fmt"
	"math"
)

// Infinite is the ULP distance between a NaN and a number.
const Infinite = math.MaxUint64

// ULPs returns how many representable values of T lie between a and b: 0 for equal values, for +0 and
// -0, and for two NaNs (any payload); Infinite for a NaN and a non-NaN. The largest finite value and
// the infinity of its sign are 1 apart. Tolerances (Row.Tolerance) are in these units.
func ULPs[T Elem](a, b T) uint64 {
	an, bn := isNaN(a), isNaN(b)
	if an || bn {
		if an && bn {
			return 0
		}
		return Infinite
	}
	ia, ib := ordered(a), ordered(b)
	if ia > ib {
		return uint64(ia) - uint64(ib)
	}
	return uint64(ib) - uint64(ia)
}

// ordered maps a non-NaN float to an integer that is monotone in its value, with ±0 both 0.
func ordered[T Elem](v T) int64 {
	switch x := any(v).(type) {
	case float32:
		i := int64(int32(math.Float32bits(x)))
		if i < 0 {
			i = math.MinInt32 - i
		}
		return i
	case float64:
		i := int64(math.Float64bits(x))
		if i < 0 {
			i = math.MinInt64 - i
		}
		return i
	case F16:
		return ordered16(x.Bits())
	case BF16:
		return ordered16(x.Bits())
	}
	panic(fmt.Sprintf("formula: no ULPs of %T", v)) // a type added to Float without its case here
}

func ordered16(u uint16) int64 {
	i := int64(int16(u))
	if i < 0 {
		i = math.MinInt16 - i
	}
	return i
}

// isNaN reports whether v is a NaN, for every element type.
func isNaN[T Elem](v T) bool {
	switch x := any(v).(type) {
	case float32:
		return x != x
	case float64:
		return x != x
	case F16:
		return x.IsNaN()
	case BF16:
		return x.IsNaN()
	}
	return false
}
