package session

import (
	"bytes"
	"reflect"
	"testing"
)

func TestCodecRoundTrip(t *testing.T) {
	values := map[any]any{
		"s": "héllo\xff\x00", "e": "", "t": true, "f": false, "i": -7, "l": int64(1 << 62), "n": nil,
		"_flash":  []any{"one", 2, int64(3), false, nil},
		metaKey{}: &meta{}, // bookkeeping: never encoded
	}
	data, err := encode(values)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	delete(values, metaKey{})
	if !reflect.DeepEqual(got, values) {
		t.Fatalf("got %#v\nwant %#v", got, values)
	}
	// Save compares encodings to skip writes: equal maps must encode equally
	// whatever Go's map iteration order.
	for range 20 {
		again, _ := encode(got)
		if !bytes.Equal(again, data) {
			t.Fatal("encoding depends on map order")
		}
	}
	if empty, _ := encode(map[any]any{metaKey{}: &meta{}}); string(empty) != emptyData {
		t.Fatalf("empty map encodes as %q, want %q", empty, emptyData)
	}
}

func TestDecodeRejectsCorruptData(t *testing.T) {
	good, _ := encode(map[any]any{"k": "value", "l": []any{"x"}})
	for name, data := range map[string][]byte{
		"empty":          nil,
		"bad version":    append([]byte{9}, good[1:]...),
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(append([]byte{}, good...), 0),
		"huge count":     {codecVersion, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"unknown tag":    {codecVersion, 1, 1, 'k', '?'},
		"nested list":    {codecVersion, 1, 1, 'k', tagList, 1, tagList, 0},
	} {
		if v, err := decode(data); err == nil {
			t.Errorf("%s: decoded %#v", name, v)
		}
	}
}

// FuzzDecode: arbitrary bytes never panic, and whatever decodes
// re-encodes to data that decodes to the same values. (Bytes need not match:
// a non-canonical varint, which our encoder never writes, re-encodes
// shorter — at worst one needless write.)
func FuzzDecode(f *testing.F) {
	seed, _ := encode(map[any]any{"a": "b", "c": int64(-1), "d": []any{true, nil, 3}})
	f.Add(seed)
	f.Add([]byte(emptyData))
	f.Fuzz(func(t *testing.T, data []byte) {
		values, err := decode(data)
		if err != nil {
			return
		}
		again, err := encode(values)
		if err != nil {
			t.Fatalf("decoded data does not re-encode: %v", err)
		}
		back, err := decode(again)
		if err != nil || !reflect.DeepEqual(back, values) {
			t.Fatalf("round trip changed %#v into %#v (%v)", values, back, err)
		}
	})
}
