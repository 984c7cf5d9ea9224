package session

import (
	"hash/maphash"
	"sync/atomic"
)

// tagCache remembers the device tags of recently seen MACs. Every RADIUS
// request needs its device's tag, which is an HMAC-SHA256 of the MAC, and
// a device sends an Access-Request and then an accounting record every
// few minutes. A MAC has one slot, chosen by a seeded hash of it, which
// belongs to the last MAC put there; a miss computes the tag again, so a
// collision costs time, never a wrong tag. The clear MACs it holds stay in
// memory, like those of the requests in flight.
type tagCache struct {
	seed  maphash.Seed
	slots []atomic.Pointer[tagEntry]
}

type tagEntry struct {
	mac MAC
	tag string
}

// tagCacheSlots is the number of slots: 64k, 512 KiB of pointers, and
// about 80 B for each slot in use.
const tagCacheSlots = 1 << 16

func newTagCache(slots int) *tagCache {
	return &tagCache{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[tagEntry], slots)}
}

func (c *tagCache) slot(m MAC) *atomic.Pointer[tagEntry] {
	return &c.slots[maphash.Comparable(c.seed, m)%uint64(len(c.slots))]
}

// get returns the tag of m, if m holds its slot.
func (c *tagCache) get(m MAC) (string, bool) {
	if e := c.slot(m).Load(); e != nil && e.mac == m {
		return e.tag, true
	}
	return "", false
}

// put gives m's slot to m and its tag.
func (c *tagCache) put(m MAC, tag string) {
	c.slot(m).Store(&tagEntry{mac: m, tag: tag})
}
