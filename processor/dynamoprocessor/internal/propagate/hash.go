package propagate // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/propagate"

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Hasher hashes trace ids for hash tables, with keys of its own.
//
// The hash is keyed per process: trace ids come from clients, and a
// predictable hash would let one crowd a single run of slots. It is the
// mixing step of wyhash twice: a 64×64→128-bit multiply of the id's two
// halves, each XORed with a random key, folded to 64 bits, then the same
// with the fold and two more keys. About 4 ns, where hash/maphash's
// generic Comparable took about 12, and a trace's first batches hash its
// id several times (look-up, learning, adding, forgetting). One multiply
// alone spread counters well with most keys, but with some it put them
// hundreds of slots from home (TestIndexSpreadsStructuredTraceIDs).
type Hasher struct {
	k0, k1, k2, k3 uint64
}

// NewHasher returns a Hasher with random keys. math/rand/v2's global
// source is seeded from the operating system's randomness and not
// observable from outside the process.
func NewHasher() Hasher {
	return Hasher{k0: rand.Uint64(), k1: rand.Uint64(), k2: rand.Uint64(), k3: rand.Uint64()}
}

// Hash returns tid's hash.
func (h *Hasher) Hash(tid pcommon.TraceID) uint32 {
	hi, lo := bits.Mul64(binary.LittleEndian.Uint64(tid[:8])^h.k0, binary.LittleEndian.Uint64(tid[8:])^h.k1)
	hi, lo = bits.Mul64(hi^lo^h.k2, h.k3)
	return uint32(hi ^ lo)
}
