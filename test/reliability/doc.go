// Package reliability holds the tests behind RELIABILITY.md: the collector
// binary is run as a separate process against real trace and log stores and
// put through crashes (kill -9), backend outages, rotation, bad input and
// overload, and every test checks what arrived against what was sent.
//
// `make test` runs each scenario at a length bounded for a 2-core machine;
// RELIABILITY_LONG=1 (or `make reliability`) runs the full-length versions
// whose figures RELIABILITY.md quotes.
package reliability
