package normalize

import (
	"strings"
	"sync"

	"github.com/otelcol-dynamo/otelcol-dynamo/internal/dynamo"
)

// maxTrackedServices bounds the services whose span names are counted. Names
// of services beyond it are not limited (their number is itself the
// cardinality problem, and no span is renamed for it).
const maxTrackedServices = 10000

// nameLimiter admits at most max distinct span names per service.
type nameLimiter struct {
	max int
	mu  sync.RWMutex
	per map[string]map[string]struct{}
}

func newNameLimiter(limit int) *nameLimiter {
	return &nameLimiter{max: limit, per: map[string]map[string]struct{}{}}
}

// admit reports whether name may be used by service: it has been seen
// before, or the service has fewer than max names. It does not allocate for a
// name seen before.
func (l *nameLimiter) admit(service, name string) bool {
	l.mu.RLock()
	names, ok := l.per[service]
	if ok {
		if _, seen := names[name]; seen {
			l.mu.RUnlock()
			return true
		}
	}
	l.mu.RUnlock()

	l.mu.Lock()
	defer l.mu.Unlock()
	names, ok = l.per[service]
	if !ok {
		if len(l.per) >= maxTrackedServices {
			return true
		}
		names = map[string]struct{}{}
		l.per[strings.Clone(service)] = names
	}
	if _, seen := names[name]; seen {
		return true
	}
	if len(names) >= l.max {
		return false
	}
	names[strings.Clone(name)] = struct{}{}
	return true
}

// maxCachedServices bounds the service-name → identity cache; it is emptied
// when full.
const maxCachedServices = 10000

// identityCache remembers the identity derived for each service name, so the
// user's regular expressions run once per service, not once per resource.
type identityCache struct {
	mappings []ServiceMapping
	mu       sync.RWMutex
	m        map[string]dynamo.Identity
}

func newIdentityCache(mappings []ServiceMapping) *identityCache {
	return &identityCache{mappings: mappings, m: map[string]dynamo.Identity{}}
}

func (c *identityCache) get(service string) dynamo.Identity {
	c.mu.RLock()
	id, ok := c.m[service]
	c.mu.RUnlock()
	if ok {
		return id
	}
	id = c.derive(service)
	c.mu.Lock()
	if len(c.m) >= maxCachedServices {
		clear(c.m)
	}
	c.m[strings.Clone(service)] = id
	c.mu.Unlock()
	return id
}

func (c *identityCache) derive(service string) dynamo.Identity {
	for _, m := range c.mappings {
		if m.Pattern.MatchString(service) {
			return m.Identity
		}
	}
	return dynamo.IdentityFromServiceName(service)
}
