package normalize

import (
	"strings"
	"sync"
	"sync/atomic"

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
//
// Every resource of every batch reads it, from the traces and the logs
// pipelines' goroutines at once, and new services are rare. A sync.Map reads
// without writing shared memory; a read lock's counter is written by every
// reader, and its cache line moves between the cores that read.
type identityCache struct {
	mappings []ServiceMapping
	m        sync.Map // service name → dynamo.Identity
	n        atomic.Int64
}

func newIdentityCache(mappings []ServiceMapping) *identityCache {
	return &identityCache{mappings: mappings}
}

func (c *identityCache) get(service string) dynamo.Identity {
	if id, ok := c.m.Load(service); ok {
		return id.(dynamo.Identity)
	}
	id := c.derive(service)
	if c.n.Add(1) > maxCachedServices {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(strings.Clone(service), id)
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
