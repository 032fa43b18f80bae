package parser // import "github.com/otelcol-dynamo/otelcol-dynamo/receiver/jsonlreceiver/internal/parser"

import (
	"bytes"

	"go.opentelemetry.io/collector/pdata/plog"
)

// severities maps level names (compared case-insensitively) to severity
// numbers. Dynamo's Rust side writes TRACE…ERROR; Python and vLLM text add
// WARNING, CRITICAL and FATAL.
var severities = []struct {
	name string
	num  plog.SeverityNumber
}{
	{"TRACE", plog.SeverityNumberTrace},
	{"DEBUG", plog.SeverityNumberDebug},
	{"INFO", plog.SeverityNumberInfo},
	{"WARN", plog.SeverityNumberWarn},
	{"WARNING", plog.SeverityNumberWarn},
	{"ERROR", plog.SeverityNumberError},
	{"CRITICAL", plog.SeverityNumberFatal},
	{"FATAL", plog.SeverityNumberFatal},
}

// Severity returns the severity number of a level name, or
// SeverityNumberUnspecified when the name is not known.
func Severity(level []byte) plog.SeverityNumber {
	switch string(level) {
	case "INFO":
		return plog.SeverityNumberInfo
	case "DEBUG":
		return plog.SeverityNumberDebug
	case "WARN":
		return plog.SeverityNumberWarn
	case "ERROR":
		return plog.SeverityNumberError
	case "TRACE":
		return plog.SeverityNumberTrace
	}
	for _, s := range severities {
		if len(s.name) == len(level) && bytes.EqualFold(level, []byte(s.name)) {
			return s.num
		}
	}
	return plog.SeverityNumberUnspecified
}

// levelName returns the level names Dynamo writes as constants (so a
// record's severity text needs no allocation), or "" for any other text.
func levelName(level []byte) string {
	switch string(level) {
	case "INFO":
		return "INFO"
	case "DEBUG":
		return "DEBUG"
	case "WARN":
		return "WARN"
	case "ERROR":
		return "ERROR"
	case "TRACE":
		return "TRACE"
	case "WARNING":
		return "WARNING"
	case "CRITICAL":
		return "CRITICAL"
	}
	return ""
}
