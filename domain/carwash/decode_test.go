package carwash_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
)

func readTestdata(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata in %s: %v", dir, err)
	}
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(filepath.Base(p), ".json")] = b
	}
	return files
}

func TestDecodeValidPayloads(t *testing.T) {
	tests := map[string]struct {
		stream   string
		typ      string
		callTime int64
	}{
		"finish_wash_seed":             {"carwash.device-123456", "carwash.FINISH_WASH", 12345667890},
		"pretty_printed_reordered":     {"carwash.device-123456", "carwash.FINISH_WASH", 12345667890},
		"machine_update_info":          {"carwash.device-123456", "carwash.MACHINE_UPDATE_INFO", 1732262400000},
		"machine_update_status":        {"carwash.fleet", "carwash.MACHINE_UPDATE_STATUS", 1732262401000},
		"machine_error":                {"carwash.device-123456", "carwash.MACHINE_ERROR", 1732262402000},
		"machine_fa_car_change":        {"carwash.device-123456", "carwash.MACHINE_FA_CAR_CHANGE", 1732262403000},
		"machine_rt2_car_change":       {"carwash.device-223344", "carwash.MACHINE_RT2_CAR_CHANGE", 1732262404000},
		"zy_rt_park_change_number":     {"carwash.device-334455", "carwash.ZY_RT_PARK_CHANGE", 1732262405000},
		"zy_rt_park_change_string":     {"carwash.device-334455", "carwash.ZY_RT_PARK_CHANGE", 1732262406000},
		"machine_tt1_car_into":         {"carwash.device-445566", "carwash.MACHINE_TT1_CAR_INTO", 1732262407000},
		"machine_tt1_car_into_timeout": {"carwash.device-445566", "carwash.MACHINE_TT1_CAR_INTO", 1732262408000},
		"machine_tt1_car_push_out":     {"carwash.device-445566", "carwash.MACHINE_TT1_CAR_PUSH_OUT", 1732262409000},
		"wp1_card_consume_ready":       {"carwash.device-556677", "carwash.WP1_CARD_CONSUME_READY", 1732262410000},
		"wp1_start_water":              {"carwash.device-556677", "carwash.WP1_START_WATER", 1732262411000},
		"wp1_wait_timeout":             {"carwash.device-556677", "carwash.WP1_WAIT_TIMEOUT", 1732262412000},
		"wp1_work_finish":              {"carwash.device-556677", "carwash.WP1_WORK_FINISH", 1732262413000},
		"wp1_upload_tds":               {"carwash.device-556677", "carwash.WP1_UPLOAD_TDS", 1732262414000},
		"numeric_strings":              {"carwash.device-556677", "carwash.WP1_WORK_FINISH", 1732262415000},
		"status_as_string":             {"carwash.fleet", "carwash.MACHINE_UPDATE_STATUS", 1732262416000},
		"unknown_enums":                {"carwash.device-123456", "carwash.MACHINE_UPDATE_INFO", 1732262417000},
		"unknown_parking_status":       {"carwash.device-123456", "carwash.MACHINE_FA_CAR_CHANGE", 1732262418000},
		"unknown_type_with_iotid":      {"carwash.device-123456", "carwash.MACHINE_TT2_CAR_WAVE", 1732262419000},
		"unknown_type_without_iotid":   {"carwash.other", "carwash.MERCHANT_NOTICE", 1732262420000},
		"unknown_type_bad_iotid":       {"carwash.other", "carwash.MERCHANT_NOTICE", 1732262421000},
		"extra_fields":                 {"carwash.device-123456", "carwash.FINISH_WASH", 1732262422000},
		"unknown_type_free_text":       {"carwash.device-1", "carwash.FINISH WASH; DROP TABLE events", 1732262400000},
		"status_list_unroutable_ids":   {"carwash.fleet", "carwash.MACHINE_UPDATE_STATUS", 1732262400000},
	}
	files := readTestdata(t, "valid")
	for name := range files {
		if _, ok := tests[name]; !ok {
			t.Errorf("testdata/valid/%s.json has no expectation", name)
		}
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			raw, ok := files[name]
			if !ok {
				t.Fatalf("testdata/valid/%s.json missing", name)
			}
			acc, err := carwash.Decode(raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if acc.Source != "carwash" || acc.Stream != want.stream || acc.Type != want.typ || acc.CallTime != want.callTime {
				t.Fatalf("got source %q stream %q type %q callTime %d, want carwash %q %q %d",
					acc.Source, acc.Stream, acc.Type, acc.CallTime, want.stream, want.typ, want.callTime)
			}
			if acc.ID != domain.EventID("carwash", acc.Data) {
				t.Fatal("ID is not EventID(carwash, Data)")
			}
			obj, err := domain.ParseObject(raw)
			if err != nil {
				t.Fatal(err)
			}
			canon, _ := domain.Canonical(obj)
			if string(acc.Data) != string(canon) {
				t.Fatalf("Data = %s, want the canonical body %s", acc.Data, canon)
			}
			if _, err := carwash.ParseCallback(acc.Data); err != nil {
				t.Fatalf("stored Data does not parse: %v", err)
			}
		})
	}
}

func TestDecodeKeepsExtraFieldsAndNumbersAsSent(t *testing.T) {
	acc, err := carwash.Decode(readTestdata(t, "valid")["extra_fields"])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"callTime":1732262422000,"callbackType":"FINISH_WASH","iotId":123456,"orderId":"ORDER9","price":{"amount":"12.50","currency":"THB"},"tags":["a","b"],"washerId":7}`
	if string(acc.Data) != want {
		t.Fatalf("Data = %s\nwant   %s", acc.Data, want)
	}
}

func TestDecodeSameEventWhateverTheSerialisation(t *testing.T) {
	files := readTestdata(t, "valid")
	a, err := carwash.Decode(files["finish_wash_seed"])
	if err != nil {
		t.Fatal(err)
	}
	b, err := carwash.Decode(files["pretty_printed_reordered"])
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || string(a.Data) != string(b.Data) {
		t.Fatalf("a re-serialised retry is another event: %s %s", a.ID, b.ID)
	}
}

func TestDecodeRejectsInvalidPayloads(t *testing.T) {
	tests := map[string]struct{ field, rule string }{
		"calltime_missing":              {"callTime", "required"},
		"calltime_null":                 {"callTime", "required"},
		"calltime_zero":                 {"callTime", "gt"},
		"calltime_negative":             {"callTime", "gt"},
		"calltime_float":                {"callTime", "integer"},
		"calltime_text":                 {"callTime", "integer"},
		"callbacktype_missing":          {"callbackType", "required"},
		"callbacktype_empty":            {"callbackType", "required"},
		"callbacktype_number":           {"callbackType", "string"},
		"iotid_missing":                 {"iotId", "required"},
		"iotid_text":                    {"iotId", "integer"},
		"iotid_zero":                    {"iotId", "gt"},
		"iotid_huge":                    {"iotId", "integer"},
		"iotid_bool":                    {"iotId", "integer"},
		"iotidlist_missing":             {"iotIdList", "required"},
		"iotidlist_empty":               {"iotIdList", "min"},
		"iotidlist_not_array":           {"iotIdList", "array"},
		"iotidlist_element_text":        {"iotIdList[1]", "integer"},
		"iotidlist_none_routable":       {"iotIdList", "routable"},
		"orderid_too_long":              {"orderId", "max"},
		"orderidlist_element_too_long":  {"orderIdList[1]", "max"},
		"orderid_missing":               {"orderId", "required"},
		"orderid_empty":                 {"orderId", "required"},
		"orderid_number":                {"orderId", "string"},
		"volume_text":                   {"volume", "integer"},
		"longitude_text":                {"longitude", "number"},
		"latitude_nan":                  {"latitude", "number"},
		"name_number":                   {"name", "string"},
		"status_object":                 {"status", "string"},
		"status_number_for_string_type": {"status", "string"},
		"status_bool_zy":                {"status", "string_or_number"},
		"status_text_update_status":     {"status", "integer"},
		"orderidlist_not_array":         {"orderIdList", "array"},
		"orderidlist_element_number":    {"orderIdList[1]", "string"},
		"sourcetds_float":               {"sourceTds", "integer"},
		"not_object":                    {"body", "object"},
	}
	files := readTestdata(t, "invalid")
	for name := range files {
		if _, ok := tests[name]; !ok {
			t.Errorf("testdata/invalid/%s.json has no expectation", name)
		}
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			raw, ok := files[name]
			if !ok {
				t.Fatalf("testdata/invalid/%s.json missing", name)
			}
			_, err := carwash.Decode(raw)
			var ve *domain.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, domain.ErrInvalidCallback) {
				t.Fatalf("err = %v, want a *domain.ValidationError", err)
			}
			if ve.Field != want.field || ve.Rule != want.rule {
				t.Fatalf("got field %q rule %q (%s), want %q %q", ve.Field, ve.Rule, ve.Message, want.field, want.rule)
			}
			if !strings.Contains(ve.Message, strings.SplitN(want.field, "[", 2)[0]) {
				t.Fatalf("message %q does not name the field", ve.Message)
			}
		})
	}
}

func TestDecodeMessages(t *testing.T) {
	tests := []struct{ body, message string }{
		{`{"callTime":1,"callbackType":"MACHINE_ERROR","iotId":"abc"}`, `iotId must be an integer (got string "abc")`},
		{`{"callTime":-7,"callbackType":"X"}`, `callTime must be greater than 0 (got -7)`},
		{`{"callTime":1,"callbackType":"FINISH_WASH","iotId":5}`, `orderId is required for FINISH_WASH`},
		{`{"callTime":1,"callbackType":"MACHINE_UPDATE_STATUS","iotIdList":[],"status":1}`, `iotIdList must not be empty`},
		{`{"callTime":1,"callbackType":"MACHINE_UPDATE_INFO","iotId":5,"longitude":[1]}`, `longitude must be a finite number (got array)`},
		{`{"callTime":1,"callbackType":"WP1_WORK_FINISH","iotId":5,"orderId":"W","volume":"x"}`, `volume must be an integer (got string "x")`},
	}
	for _, tc := range tests {
		_, err := carwash.Decode([]byte(tc.body))
		if err == nil || err.Error() != tc.message {
			t.Errorf("%s: err = %v, want %q", tc.body, err, tc.message)
		}
	}
}

func TestDecodeMalformedPassesThrough(t *testing.T) {
	for _, body := range []string{``, `{`, `{"callTime":1,}`, "\xff", `{"a":1} {}`, `{"callTime":1732262400000,"callbackType":"FINISH_WASH"`} {
		if _, err := carwash.Decode([]byte(body)); !errors.Is(err, domain.ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", body, err)
		}
	}
}

// Keys are matched exactly, as the canonical map holds them: a differently
// cased duplicate is an extra field, not the routing key.
func TestDecodeMatchesKeysExactly(t *testing.T) {
	body := `{"callTime":1732262400000,"callbackType":"FINISH_WASH","iotId":7,"iotid":"x","IOTID":9,"orderId":"A"}`
	acc, err := carwash.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if acc.Stream != "carwash.device-7" {
		t.Fatalf("stream = %s", acc.Stream)
	}
	c, err := carwash.ParseCallback(acc.Data)
	if err != nil || c.IotID != 7 {
		t.Fatalf("ParseCallback: %+v %v", c, err)
	}
	// An escaped key is the same key.
	acc, err = carwash.Decode([]byte(`{"callTime":1,"callbackType":"FINISH_WASH","iot\u0049d":8,"orderId":"A"}`))
	if err != nil || acc.Stream != "carwash.device-8" {
		t.Fatalf("escaped key: %+v %v", acc, err)
	}
}

func TestParseCallbackTypedView(t *testing.T) {
	files := readTestdata(t, "valid")
	parse := func(name string) carwash.Callback {
		t.Helper()
		acc, err := carwash.Decode(files[name])
		if err != nil {
			t.Fatal(err)
		}
		c, err := carwash.ParseCallback(acc.Data)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	info := parse("machine_update_info")
	if *info.Name != "Bay 3" || *info.Country != "TH" || *info.Longitude != 100.5018 || *info.Latitude != 13.7563 ||
		*info.ErrorStatus != "OK" || *info.OnlineStatus != "ONLINE" || *info.MachineType != "NFULL_AUTO_1" || info.IotID != 123456 {
		t.Fatalf("info: %+v", info)
	}
	num := parse("numeric_strings")
	if num.CallTime != 1732262415000 || num.IotID != 556677 || num.OrderID != "W20241122002" || *num.Volume != 120 {
		t.Fatalf("numeric strings: %+v", num)
	}
	st := parse("status_as_string")
	if len(st.IotIDList) != 2 || st.IotIDList[0] != 123456 || string(st.Status) != `"0"` || st.IotID != 0 {
		t.Fatalf("status: %+v", st)
	}
	zy := parse("zy_rt_park_change_number")
	if string(zy.Status) != `16` {
		t.Fatalf("zy status = %s", zy.Status)
	}
	push := parse("machine_tt1_car_push_out")
	if len(push.OrderIDList) != 2 || push.OrderIDList[1] != "T20241122002" {
		t.Fatalf("push out: %+v", push)
	}
	tds := parse("wp1_upload_tds")
	if *tds.SourceTds != 210 || *tds.CleanTds != 12 {
		t.Fatalf("tds: %+v", tds)
	}
	errc := parse("machine_error")
	if *errc.CreateTime != "2024-11-22 08:07:55" || !strings.HasPrefix(*errc.ErrorMessage, "[M835]") {
		t.Fatalf("error: %+v", errc)
	}
	unk := parse("unknown_enums")
	if *unk.ErrorStatus != "DEGRADED" || *unk.Longitude != 100.5 || unk.Latitude != nil {
		t.Fatalf("unknown enums: %+v", unk)
	}
	// A field the type does not define is not read, whatever its kind.
	wash := parse("extra_fields")
	if wash.Volume != nil || wash.Status != nil {
		t.Fatalf("extra fields leaked into the view: %+v", wash)
	}
	if !parse("finish_wash_seed").Known() || parse("unknown_type_with_iotid").Known() {
		t.Fatal("Known is wrong")
	}
}

func TestParseCallbackRejectsWhatDecodeRejects(t *testing.T) {
	for name, raw := range readTestdata(t, "invalid") {
		_, derr := carwash.Decode(raw)
		_, perr := carwash.ParseCallback(raw)
		if derr == nil || perr == nil || derr.Error() != perr.Error() {
			t.Errorf("%s: Decode %v, ParseCallback %v", name, derr, perr)
		}
	}
	if _, err := carwash.ParseCallback([]byte(`{"callTime":`)); !errors.Is(err, domain.ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
}

func TestEventTypeKeepsAnyCallbackTypeStorable(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	tests := map[string]string{
		"MACHINE_TT2_CAR_WAVE":   "carwash.MACHINE_TT2_CAR_WAVE",
		"with spaces; and ünï":   "carwash.with spaces; and ünï",
		"tab\there\x00nul":       "carwash.tab\uFFFDhere\uFFFDnul",
		long:                     "carwash." + strings.Repeat("é", 64) + "…",
		strings.Repeat("x", 128): "carwash." + strings.Repeat("x", 128),
	}
	for in, want := range tests {
		if got := carwash.EventType(in); got != want {
			t.Errorf("EventType(%q) = %q, want %q", in, got, want)
		}
	}
	// Through Decode: a long, control-laden type is stored, its data exact.
	raw := fmt.Appendf(nil, `{"callTime":1,"callbackType":"A\u0001%s","iotId":3}`, strings.Repeat("B", 300))
	acc, err := carwash.Decode(raw)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if want := "carwash.A\uFFFD" + strings.Repeat("B", 124) + "…"; acc.Type != want || acc.Stream != "carwash.device-3" {
		t.Fatalf("type %q stream %q, want %q", acc.Type, acc.Stream, want)
	}
	c, err := carwash.ParseCallback(acc.Data)
	if err != nil || c.CallbackType != "A\x01"+strings.Repeat("B", 300) || c.Known() {
		t.Fatalf("ParseCallback: %q known=%v %v", c.CallbackType, c.Known(), err)
	}
}
