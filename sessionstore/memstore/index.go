package memstore

import "hash/maphash"

// kind names one of the three indexes: by id, by (issuer, sid) and by
// (issuer, subject).
type kind uint32

const (
	kindID kind = iota + 1
	kindSID
	kindSub
	kinds = 3
)

// list returns the number of k's list in a record's prev and next.
func (k kind) list() int { return int(k - kindSID) }

// index maps ids to records and (issuer, sid) and (issuer, subject) to the
// first record of their lists, all in one hash table of open-addressing
// shards with linear probing, each at most half full so that runs of slots
// stay short. A slot holds the 32-bit tag of its key, the ref of the record
// and the record's tags for the two other kinds, so that a caller that
// found a record by one key can start fetching the record's other two slots
// without waiting for the record itself. A lookup reads one cache line of
// slots in the common case and then the record, whose key it compares,
// since different keys can share a tag; removing a record's slot needs only
// its tag and ref. Deletion shifts the following slots back instead of
// leaving tombstones. The top bits of a tag choose its shard; a shard
// doubles (or halves) by rehashing its slots, which reads only the shard,
// so that growing pauses writes for 1/shards of the index.
type index struct {
	seed   maphash.Seed
	shards [shards]table
	n      int // slots in use
	cursor int // the next shard shrink looks at
	// sink receives the loads of touch.
	sink uint32
	// collide makes every key of the same issuer and kind share a tag,
	// so that tests exercise different keys with equal tags.
	collide bool
}

const (
	shardBits = 8
	shards    = 1 << shardBits
)

// table is one shard of the index.
type table struct {
	slots []slot
	n     int  // slots in use
	shift uint // 64 - log2(len(slots))
}

// shard returns the shard of tag.
func (x *index) shard(tag uint32) *table { return &x.shards[tag>>(32-shardBits)] }

// size returns the number of slots of all shards.
func (x *index) size() int {
	n := 0
	for i := range x.shards {
		n += len(x.shards[i].slots)
	}
	return n
}

// insert adds slot v, growing its shard if needed.
func (x *index) insert(v slot) {
	x.shard(v.tag).insert(v)
	x.n++
}

// deleteAt empties slot i of shard t.
func (x *index) deleteAt(t *table, i int) {
	t.deleteAt(i)
	x.n--
}

// shrink looks at one shard per call, in turn, and halves it while it is
// less than one eighth full, to give memory back after a mass logout. It
// moves slots, so callers must not hold positions across it.
func (x *index) shrink() {
	t := &x.shards[x.cursor]
	x.cursor = (x.cursor + 1) % shards
	for len(t.slots) > minSlots && t.n*8 < len(t.slots) {
		t.resize(len(t.slots) / 2)
	}
}

// touch loads the home slots of tags and the slots after them, which
// deletion reads, so that the memory system fetches them in parallel with
// what the caller reads next.
func (x *index) touch(tags [2]uint32) {
	for _, tag := range tags {
		t := x.shard(tag)
		if len(t.slots) > 0 {
			i := t.home(tag)
			x.sink += t.slots[i].tag + t.slots[(i+1)&(len(t.slots)-1)].tag
		}
	}
}

// slot is one entry of the index; ref 0 marks an empty slot.
type slot struct {
	tag  uint32
	ref  ref
	tags [2]uint32 // the record's tags of the other kinds, see others
}

// others returns the tags of a record's kinds other than k, in kind order;
// slot.all undoes it.
func others(k kind, tags [kinds]uint32) [2]uint32 {
	switch k {
	case kindID:
		return [2]uint32{tags[1], tags[2]}
	case kindSID:
		return [2]uint32{tags[0], tags[2]}
	default:
		return [2]uint32{tags[0], tags[1]}
	}
}

// all returns the tags of the record that v names, by kind-1.
func (v slot) all() [kinds]uint32 {
	switch kind(v.tag & 3) {
	case kindID:
		return [kinds]uint32{v.tag, v.tags[0], v.tags[1]}
	case kindSID:
		return [kinds]uint32{v.tags[0], v.tag, v.tags[1]}
	default:
		return [kinds]uint32{v.tags[0], v.tags[1], v.tag}
	}
}

func newSlot(k kind, y ref, tags [kinds]uint32) slot {
	return slot{tag: tags[k-1], ref: y, tags: others(k, tags)}
}

const (
	minSlots = 16
	fib      = 0x9E3779B97F4A7C15
)

// tagString returns the tag of key for kind k and issuer iss (0 for
// kindID). Tags are never 0 and tags of different kinds differ.
func (x *index) tagString(k kind, iss uint32, key string) uint32 {
	var h uint64
	if !x.collide {
		h = maphash.String(x.seed, key)
	}
	return mixTag(h, k, iss)
}

func mixTag(h uint64, k kind, iss uint32) uint32 {
	h ^= uint64(iss)<<2 | uint64(k)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return uint32(h>>32)&^3 | uint32(k)
}

// home returns the first slot to probe for tag.
func (t *table) home(tag uint32) int { return int((uint64(tag) * fib) >> t.shift) }

// find returns the position of the slot of tag and y, which is present.
func (t *table) find(tag uint32, y ref) int {
	mask := len(t.slots) - 1
	for i := t.home(tag); ; i = (i + 1) & mask {
		if v := &t.slots[i]; v.tag == tag && v.ref == y {
			return i
		}
	}
}

func (t *table) insert(v slot) {
	if (t.n+1)*2 > len(t.slots) {
		t.resize(max(minSlots, 2*len(t.slots)))
	}
	t.put(v)
	t.n++
}

func (t *table) put(v slot) {
	mask := len(t.slots) - 1
	i := t.home(v.tag)
	for t.slots[i].ref != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = v
}

// deleteAt empties the slot at i, moving back later slots of the same run
// that may take its place, so that every slot stays reachable from its home.
func (t *table) deleteAt(i int) {
	mask := len(t.slots) - 1
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		v := t.slots[j]
		if v.ref == 0 {
			break
		}
		// v may move to i if i lies on its probe path, from its home to j.
		if (j-t.home(v.tag))&mask >= (j-i)&mask {
			t.slots[i] = v
			i = j
		}
	}
	t.slots[i] = slot{}
	t.n--
}

func (t *table) resize(n int) {
	old := t.slots
	t.slots = make([]slot, n)
	t.shift = 64
	for m := n; m > 1; m >>= 1 {
		t.shift--
	}
	for _, v := range old {
		if v.ref != 0 {
			t.put(v)
		}
	}
}
