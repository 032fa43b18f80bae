package dynamoprocessor

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// The README documents the tables of internal/dynamo and every option; this
// keeps them in step.
func TestREADMEDocumentsTablesAndOptions(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(data)
	for k := range dynamo.NumericFields {
		assert.Contains(t, readme, "`"+k+"`", "numeric field")
	}
	for _, n := range dynamo.KnownSpanNames {
		assert.Contains(t, readme, "`"+n+"`", "known span name")
	}
	for _, p := range dynamo.SystemEndpointPaths {
		assert.Contains(t, readme, "`"+p+"`", "system endpoint")
	}
	for _, a := range dynamo.XRequestIDAliases {
		assert.Contains(t, readme, "`"+a+"`", "request-id alias")
	}
	keys := optionKeys(reflect.TypeOf(Config{}), "")
	require.Len(t, keys, 23)
	for _, key := range keys {
		assert.Contains(t, readme, "| `"+key+"` |", "option")
	}
}

// optionKeys lists the dotted keys of the configuration's leaves (nested
// sections expanded; lists and maps are leaves).
func optionKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		tag := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, optionKeys(f.Type, prefix+tag+".")...)
			continue
		}
		keys = append(keys, prefix+tag)
	}
	return keys
}
