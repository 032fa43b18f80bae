package dynamo

// NumberKind is the type a numeric field is converted to.
type NumberKind int

const (
	// Int fields become 64-bit integers. A value that does not fit in int64
	// (such as an instance id above 9223372036854775807) stays a string, so
	// that it is never rounded.
	Int NumberKind = iota + 1
	// Double fields become 64-bit floating-point numbers.
	Double
)

// String returns the configuration spelling of k.
func (k NumberKind) String() string {
	switch k {
	case Int:
		return "int"
	case Double:
		return "double"
	}
	return "unknown"
}

// NumericFields are the span fields Dynamo writes as strings although they
// are numbers (JSONL copies every span field as a string), with the type each
// one becomes. Each field has one type whatever its value, so a backend never
// sees the same key as both an integer and a double.
var NumericFields = map[string]NumberKind{
	"input_tokens":     Int,
	"output_tokens":    Int,
	"cached_tokens":    Int,
	"instance_id":      Int,
	"worker_id":        Int,
	"dp_rank":          Int,
	"elapsed_ms":       Int,
	"time.busy_us":     Int,
	"time.idle_us":     Int,
	"time.duration_us": Int,
	"ttft_ms":          Double,
	"avg_itl_ms":       Double,
	"itl_ms":           Double,
}
