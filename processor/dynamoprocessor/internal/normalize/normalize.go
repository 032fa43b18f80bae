// Package normalize holds the per-item rules of the dynamo processor: request
// ids, span names, HTTP semantics, span status, numeric fields and the
// component identity of a resource. Every rule reads the Dynamo-specific
// tables of internal/dynamo. The rules are pure functions of one item (plus
// the per-service span-name limiter); propagation across a trace lives in the
// propagate package.
package normalize // import "github.com/otelcol-dynamo/otelcol-dynamo/processor/dynamoprocessor/internal/normalize"

import (
	"regexp"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// SystemAction says what happens to http-request spans of system endpoints.
type SystemAction int

const (
	// SystemRename gives them the system span name.
	SystemRename SystemAction = iota
	// SystemDrop removes them.
	SystemDrop
	// SystemKeep leaves them as they are.
	SystemKeep
)

// Rule is a user span-name rule: names that Pattern matches are rewritten
// with Replacement (regexp.ReplaceAllString syntax, $1 for groups).
type Rule struct {
	Pattern     *regexp.Regexp
	Replacement string
}

// ServiceMapping assigns an identity to the service names Pattern matches.
// It overrides the built-in service-name patterns.
type ServiceMapping struct {
	Pattern  *regexp.Regexp
	Identity dynamo.Identity
}

// Settings configure a Normalizer. The zero value does nothing; Defaults
// returns what the processor's default configuration does.
type Settings struct {
	// ExtraXRequestIDAliases are consulted after dynamo.XRequestIDAliases.
	ExtraXRequestIDAliases []string
	// RemoveAliases removes alias keys (and x_dynamo_request_id) once their
	// value is under the canonical key.
	RemoveAliases bool
	// RequestIDs turns the request-id rules on.
	RequestIDs bool

	Rules            []Rule
	Canonicalize     bool
	Template         bool
	System           SystemAction
	SystemSpanName   string
	MaxNamesPerSvc   int // 0: no limit
	OverflowSpanName string

	HTTPSemantics bool
	Status        bool

	Components      bool
	ServiceMappings []ServiceMapping

	Numeric bool
	// ExtraNumericFields are added to (and override) dynamo.NumericFields.
	ExtraNumericFields map[string]dynamo.NumberKind
}

// Defaults returns the settings of the processor's default configuration.
func Defaults() Settings {
	return Settings{
		RemoveAliases:    true,
		RequestIDs:       true,
		Canonicalize:     true,
		Template:         true,
		System:           SystemRename,
		SystemSpanName:   dynamo.SystemSpanName,
		MaxNamesPerSvc:   1000,
		OverflowSpanName: "span_name_overflow",
		HTTPSemantics:    true,
		Status:           true,
		Components:       true,
		Numeric:          true,
	}
}

// Stats counts what the rules did to one batch. The processor adds them to its
// self-telemetry once per batch.
type Stats struct {
	Changed       int64 // items changed in any way
	Templated     int64 // span names templated
	Overflow      int64 // span names replaced by the overflow name
	SystemRenamed int64
	SystemDropped int64
	// Unconverted counts attribute values left as they are because their type
	// or content did not fit the rule, by reason.
	NotANumber     int64
	OutOfRange     int64
	UnexpectedType int64
}

// Normalizer applies the rules. It is safe for concurrent use.
type Normalizer struct {
	s       Settings
	aliases []string
	// numByFirst are the numeric fields, by first byte.
	numByFirst [256][]numField
	// byFirst[c] has bit l set when a key of interest (see candidate) of
	// length 0 < l < 64 starts with c; oddKeys is true when one is empty or
	// longer.
	byFirst [256]uint64
	oddKeys bool
	// fastAliases: the aliases are distinct and none is a key a rule reads
	// or writes, so scan can keep their values (see found.byKey).
	fastAliases bool
	limiter     *nameLimiter
	idents      *identityCache
	rules       []compiledRule
}

// compiledRule is a user rule with the literal every match contains, so
// names that cannot match skip the regular expression.
type compiledRule struct {
	Rule
	literal string
}

// RuleKey reports whether k is a key another rule reads (x_dynamo_request_id,
// request_id, Dynamo's method, uri, component, failure and JSONL fields):
// such a key is never taken as a request-id alias.
func RuleKey(k string) bool {
	s := slotOf(k)
	return s >= 0 && s < sContextID
}

// requestIDAliases returns the built-in aliases, then the extra ones that
// are not rule keys. Configuration validation rejects those; a Normalizer
// made from settings that were not validated leaves them out, as scan
// always did: taking one as an alias, and removing it, whenever another
// alias was present would also have left its own rule reading a key no
// longer there.
func requestIDAliases(extra []string) []string {
	aliases := append([]string(nil), dynamo.XRequestIDAliases...)
	for _, a := range extra {
		if !RuleKey(a) {
			aliases = append(aliases, a)
		}
	}
	return aliases
}

// New returns a Normalizer for s.
func New(s Settings) *Normalizer {
	n := &Normalizer{s: s}
	n.aliases = requestIDAliases(s.ExtraXRequestIDAliases)
	numeric := make(map[string]dynamo.NumberKind, len(dynamo.NumericFields)+len(s.ExtraNumericFields))
	for k, v := range dynamo.NumericFields {
		numeric[k] = v
	}
	for k, v := range s.ExtraNumericFields {
		numeric[k] = v
	}
	for k, v := range numeric {
		if k != "" { // scan never converts an empty key
			n.numByFirst[k[0]] = append(n.numByFirst[k[0]], numField{k, v})
		}
	}
	for _, k := range slotKeys {
		n.addCandidate(k)
	}
	n.fastAliases = true
	for i, a := range n.aliases {
		n.addCandidate(a)
		if a == "" || slotOf(a) >= 0 || n.aliasIndex(a) != i {
			n.fastAliases = false
		}
	}
	if s.Numeric {
		for _, fs := range n.numByFirst {
			for _, f := range fs {
				n.addCandidate(f.key)
			}
		}
	}
	for _, r := range s.Rules {
		lit, _ := r.Pattern.LiteralPrefix()
		n.rules = append(n.rules, compiledRule{Rule: r, literal: lit})
	}
	n.limiter = newNameLimiter(s.MaxNamesPerSvc)
	n.idents = newIdentityCache(s.ServiceMappings)
	return n
}

func (n *Normalizer) addCandidate(k string) {
	if l := len(k); l > 0 && l < 64 {
		n.byFirst[k[0]] |= 1 << l
	} else {
		n.oddKeys = true
	}
}
