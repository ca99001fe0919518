package embeddings

import (
	"math"
	"sort"
)

// feature is one occurrence of a hashed feature with its kind's weight.
type feature struct {
	hash   uint64
	weight float64
	kind   byte
}

// accumulate adds the features into acc (signed feature hashing). Occurrences of the same feature are
// grouped by sorting (never by map iteration, whose order is random and
// would make float sums differ in the last bits), the highest weight of a
// group stands for it, scaled by its sublinear term frequency.
func (o *Offline) accumulate(acc []float64, feats []feature) {
	sort.Slice(feats, func(i, j int) bool { return feats[i].hash < feats[j].hash })
	var kindNorm [256]float64
	type val struct {
		hash uint64
		v    float64
		kind byte
	}
	vals := make([]val, 0, len(feats))
	for i := 0; i < len(feats); {
		j, w := i, 0.0
		for ; j < len(feats) && feats[j].hash == feats[i].hash; j++ {
			w = math.Max(w, feats[j].weight)
		}
		tf := float64(j - i)
		if o.params.logTF {
			tf = 1 + math.Log(tf)
		}
		v := float64(w * tf) // explicit conversion: no fused multiply-add, same bits on every CPU
		vals = append(vals, val{feats[i].hash, v, feats[i].kind})
		kindNorm[feats[i].kind] += float64(v * v)
		i = j
	}
	for _, x := range vals {
		v := x.v
		if o.params.blocks && kindNorm[x.kind] > 0 {
			v /= math.Sqrt(kindNorm[x.kind])
		}
		h := mix64(x.hash)
		idx := h % uint64(o.dims)
		if o.params.signed && h>>63 == 1 {
			v = -v
		}
		acc[idx] += v
	}
}

// normalize returns acc scaled to unit length as float32; the zero vector
// stays zero.
func normalize(acc []float64) []float32 {
	var ss float64
	for _, v := range acc {
		ss += float64(v * v)
	}
	out := make([]float32, len(acc))
	if ss == 0 {
		return out
	}
	inv := 1 / math.Sqrt(ss)
	for i, v := range acc {
		out[i] = float32(v * inv)
	}
	return out
}

// hashKey is 64-bit FNV-1a of the kind byte and the key: fixed, seedless and
// the same on every platform and run.
func hashKey(kind byte, key string) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	h ^= uint64(kind)
	h *= prime64
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime64
	}
	return h
}

// mix64 is SplitMix64's finaliser: it spreads FNV-1a's bits so that both the
// bucket (low bits) and the sign (top bit) are well distributed.
func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
