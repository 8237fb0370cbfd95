package session

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// sessionValues is what the app stores in a signed-in session: the Logto
// SDK's items, the user id, and notices (gorilla flashes).
func sessionValues() map[any]any {
	return map[any]any{
		"idToken":      "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ1c2VyMSJ9.c2ln",
		"refreshToken": "rt_0123456789abcdef",
		"user":         "u1a2b3c4",
		"_notice":      []any{"Report saved.", `Ünïcödé <b>&</b> "quoted"`},
	}
}

// assertRoundTrip encodes values with enc, checks they decode back (minus
// the bookkeeping key) and that the bytes do not depend on map order: Save
// compares encodings to skip writes.
func assertRoundTrip(t *testing.T, enc func(map[any]any) ([]byte, error), values map[any]any) []byte {
	t.Helper()
	values[metaKey{}] = &meta{} // bookkeeping: never encoded
	data, err := enc(values)
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
	for range 20 {
		again, _ := enc(got)
		if !bytes.Equal(again, data) {
			t.Fatal("encoding depends on map order")
		}
	}
	return data
}

func TestCodecRoundTripV1(t *testing.T) {
	t.Parallel()
	assertRoundTrip(t, encodeV1, map[any]any{
		"s": "héllo\xff\x00", "e": "", "t": true, "f": false, "i": -7, "l": int64(1 << 62), "n": nil,
		"_flash": []any{"one", 2, int64(3), false, nil},
	})
	if empty, _ := encodeV1(map[any]any{metaKey{}: &meta{}}); string(empty) != "\x01\x00" {
		t.Fatalf("empty map encodes as %q", empty)
	}
}

func TestCodecRoundTripV2(t *testing.T) {
	t.Parallel()
	values := sessionValues()
	values["empty"] = ""
	values["none"] = []any{}
	values["odd"] = "\x00\u2028</script>\\\"\U0001F600"
	data := assertRoundTrip(t, encodeV2, values)
	if data[0] != 2 {
		t.Fatalf("version byte %d, want 2", data[0])
	}
	if empty, _ := encodeV2(map[any]any{metaKey{}: &meta{}}); string(empty) != "\x02{}" {
		t.Fatalf("empty map encodes as %q", empty)
	}
	// A nil list would marshal as null, which decode refuses.
	if data, _ := encodeV2(map[any]any{"l": []any(nil)}); string(data) != "\x02{\"l\":[]}" {
		t.Fatalf("nil list encodes as %q", data)
	}
}

// TestEncodeV2Refuses: JSON cannot carry these byte for byte (or at all),
// so the encoder errs instead of storing something else; the error names
// the key, never the value (which may be a token).
func TestEncodeV2Refuses(t *testing.T) {
	t.Parallel()
	for name, values := range map[string]map[any]any{
		"invalid UTF-8 value":     {"k": "secret\xff"},
		"invalid UTF-8 key":       {"k\xff": "secret"},
		"invalid UTF-8 list item": {"k": []any{"ok", "secret\xff"}},
		"int":                     {"k": 1},
		"bool":                    {"k": true},
		"nil":                     {"k": nil},
		"list of ints":            {"k": []any{1}},
		"non-string key":          {1: "secret"},
	} {
		data, err := encodeV2(values)
		if err == nil {
			t.Errorf("%s: encoded as %q", name, data)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error reveals the value: %v", name, err)
		}
	}
}

// TestDecodeGolden: rows written by earlier releases (v1) and the v2 this
// release can read still decode, and each encoder still writes those bytes.
func TestDecodeGolden(t *testing.T) {
	t.Parallel()
	for file, enc := range map[string]func(map[any]any) ([]byte, error){
		"testdata/v1.golden": encodeV1,
		"testdata/v2.golden": encodeV2,
	} {
		golden, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decode(golden)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if want := sessionValues(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %#v\nwant %#v", file, got, want)
		}
		if data, _ := enc(sessionValues()); !bytes.Equal(data, golden) {
			t.Fatalf("%s: encodes as %q\nwant %q", file, data, golden)
		}
	}
}

// TestWriteVersionIsV1 documents the rollout: the release before this one
// reads only v1 and deletes rows it cannot decode, so this release writes
// v1 while reading v1 and v2. The next release, once every replica reads
// v2, sets writeVersion to 2 and emptyData to "\x02{}" and updates this test.
func TestWriteVersionIsV1(t *testing.T) {
	t.Parallel()
	if writeVersion != 1 {
		t.Fatalf("writeVersion = %d: the previous release reads only v1", writeVersion)
	}
	data, err := encode(sessionValues())
	if err != nil {
		t.Fatal(err)
	}
	if v1, _ := encodeV1(sessionValues()); !bytes.Equal(data, v1) {
		t.Fatalf("encode wrote %q, want v1 %q", data, v1)
	}
	if empty, _ := encode(map[any]any{}); string(empty) != emptyData {
		t.Fatalf("empty map encodes as %q, emptyData is %q", empty, emptyData)
	}
}

func TestDecodeRejectsCorruptData(t *testing.T) {
	t.Parallel()
	good, _ := encodeV1(map[any]any{"k": "value", "l": []any{"x"}})
	for name, data := range map[string][]byte{
		"empty":             nil,
		"bad version":       append([]byte{9}, good[1:]...),
		"truncated":         good[:len(good)-1],
		"trailing bytes":    append(append([]byte{}, good...), 0),
		"huge count":        {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"unknown tag":       {1, 1, 1, 'k', '?'},
		"nested list":       {1, 1, 1, 'k', tagList, 1, tagList, 0},
		"v2 empty":          {2},
		"v2 not JSON":       []byte("\x02{\"k\":"),
		"v2 trailing bytes": []byte("\x02{}{}"),
		"v2 null":           []byte("\x02null"),
		"v2 array":          []byte("\x02[\"k\"]"),
		"v2 number":         []byte("\x02{\"k\":1}"),
		"v2 null value":     []byte("\x02{\"k\":null}"),
		"v2 object value":   []byte("\x02{\"k\":{}}"),
		"v2 nested list":    []byte("\x02{\"k\":[[\"a\"]]}"),
		"v2 null in list":   []byte("\x02{\"k\":[\"a\",null]}"),
		"v2 invalid UTF-8":  []byte("\x02{\"k\":\"\xff\"}"),
	} {
		v, err := decode(data)
		if err == nil {
			t.Errorf("%s: decoded %#v", name, v)
		} else if name != "bad version" && !errors.Is(err, errCorrupt) {
			t.Errorf("%s: %v, want errCorrupt", name, err)
		}
	}
}

// FuzzDecode: arbitrary bytes never panic, and whatever decodes (either
// version) re-encodes as v1 to data that decodes to the same values. (Bytes
// need not match: a non-canonical varint, which our encoder never writes,
// re-encodes shorter — at worst one needless write.)
func FuzzDecode(f *testing.F) {
	seed, _ := encodeV1(map[any]any{"a": "b", "c": int64(-1), "d": []any{true, nil, 3}})
	f.Add(seed)
	f.Add([]byte(emptyData))
	f.Fuzz(func(t *testing.T, data []byte) {
		values, err := decode(data)
		if err != nil {
			return
		}
		reencode(t, encodeV1, values)
	})
}

// reencode checks that decoded values encode with enc and decode back
// unchanged, and returns that encoding.
func reencode(t *testing.T, enc func(map[any]any) ([]byte, error), values map[any]any) []byte {
	t.Helper()
	again, err := enc(values)
	if err != nil {
		t.Fatalf("decoded data does not re-encode: %v", err)
	}
	back, err := decode(again)
	if err != nil || !reflect.DeepEqual(back, values) {
		t.Fatalf("round trip changed %#v into %#v (%v)", values, back, err)
	}
	return again
}

// FuzzDecodeV2: whatever v2 decodes re-encodes as v2 (so flipping the write
// version can never make a readable session unsavable), decodes back to the
// same values, and that encoding is a fixed point: saving it again writes
// the same bytes.
func FuzzDecodeV2(f *testing.F) {
	seed, _ := encodeV2(sessionValues())
	f.Add(seed)
	f.Add([]byte("\x02{}"))
	f.Add([]byte("\x02 {\"k\" : [ \"\\u00e9\\ud800\" ] , \"k\":\"x\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		values, err := decode(append([]byte{2}, data...))
		if err != nil {
			return
		}
		again := reencode(t, encodeV2, values)
		if twice, _ := encodeV2(values); !bytes.Equal(twice, again) {
			t.Fatalf("re-encoding is not stable: %q then %q", again, twice)
		}
	})
}
