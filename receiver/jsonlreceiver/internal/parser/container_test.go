package parser

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDetect(t *testing.T) {
	assert.Equal(t, FormatCRI, Detect([]byte("2026-07-30T18:04:11.482913123Z stderr F "+lineNewFrontend)))
	assert.Equal(t, FormatDocker, Detect([]byte(`{"log":"hello\n","stream":"stderr","time":"2026-07-30T18:04:11.482913123Z"}`)))
	assert.Equal(t, FormatRaw, Detect([]byte(lineNewFrontend)))
	assert.Equal(t, FormatRaw, Detect([]byte(lineANSI)))
	assert.Equal(t, FormatRaw, Detect([]byte(`{"log":"not docker"`)))
}

func TestUnwrapCRI(t *testing.T) {
	e, ok := UnwrapCRI([]byte("2026-07-30T18:04:11.482913123Z stderr F " + lineMid))
	require.True(t, ok)
	assert.False(t, e.Partial)
	assert.Equal(t, "stderr", e.Stream)
	assert.Equal(t, lineMid, string(e.Content))
	want, _ := ParseTime([]byte("2026-07-30T18:04:11.482913123Z"))
	assert.Equal(t, want, e.Time)

	// A partial record keeps its trailing space: it belongs to the line.
	e, ok = UnwrapCRI([]byte(`2026-07-30T18:04:11.482913123Z stdout P {"message":"split here `))
	require.True(t, ok)
	assert.True(t, e.Partial)
	assert.Equal(t, "stdout", e.Stream)
	assert.Equal(t, `{"message":"split here `, string(e.Content))

	e, ok = UnwrapCRI([]byte("2026-07-30T18:04:11Z stdout F"))
	require.True(t, ok)
	assert.Empty(t, e.Content)

	e, ok = UnwrapCRI([]byte("2026-07-30T18:04:11Z stdout F:x tagged"))
	require.True(t, ok)
	assert.Equal(t, "tagged", string(e.Content))

	for _, bad := range []string{"plain text", "2026-07-30T18:04:11Z stdin F x", "2026-07-30T18:04:11Z stdout X x", "yesterday stdout F x"} {
		_, ok := UnwrapCRI([]byte(bad))
		assert.False(t, ok, bad)
	}
}

func TestUnwrapDocker(t *testing.T) {
	var buf []byte
	e, ok := UnwrapDocker([]byte(`{"log":"{\"message\":\"a\\nb\"}\n","stream":"stderr","time":"2026-07-30T18:04:11.482913123Z"}`), &buf)
	require.True(t, ok)
	assert.False(t, e.Partial)
	assert.Equal(t, `{"message":"a\nb"}`, string(e.Content))
	assert.Equal(t, "stderr", e.Stream)
	assert.NotZero(t, e.Time)

	e, ok = UnwrapDocker([]byte(`{"stream":"stdout","log":"first half ","time":"2026-07-30T18:04:11Z","attrs":{"k":1}}`), &buf)
	require.True(t, ok)
	assert.True(t, e.Partial)
	assert.Equal(t, "first half ", string(e.Content))
	assert.Equal(t, "stdout", e.Stream)

	for _, bad := range []string{`{"stream":"stdout"}`, `{"log":"x"`, `{"log":"x"} tail`, `{}`} {
		_, ok := UnwrapDocker([]byte(bad), &buf)
		assert.False(t, ok, bad)
	}
}
