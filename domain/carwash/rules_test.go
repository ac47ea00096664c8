package carwash_test

import (
	"strconv"
	"testing"
)

// One table per rule of domain.md §1 "Device read model". Bodies are listed
// in delivery order; orderFree cases are also checked in every other order,
// and every case with each event replayed.

const dev = 7

func TestRuleInfoAttributesAreLatestUpdateInfo(t *testing.T) {
	full := func(at int64, name string) string {
		return body(at, "MACHINE_UPDATE_INFO", dev, `"name":`+q(name)+`,"country":"TH","address":"Soi 4","longitude":100.5,"latitude":13.7,"errorStatus":"OK","machineType":"NFULL_AUTO_1"`)
	}
	runRuleCases(t, []ruleCase{
		{name: "never reported is null", iot: dev, bodies: []string{body(1, "FINISH_WASH", dev, `"orderId":"A"`)},
			want: map[string]string{"name": `null`, "machineType": `null`, "longitude": `null`, "errorStatus": `null`, "address": `null`}},
		{name: "all attributes", iot: dev, bodies: []string{full(100, "Bay 3")},
			want: map[string]string{"name": `"Bay 3"`, "country": `"TH"`, "address": `"Soi 4"`, "longitude": `100.5`, "latitude": `13.7`, "errorStatus": `"OK"`, "machineType": `"NFULL_AUTO_1"`}},
		{name: "late older update does not overwrite", iot: dev, orderFree: true,
			bodies: []string{full(200, "New"), full(100, "Old")},
			want:   map[string]string{"name": `"New"`}},
		{name: "absent attribute keeps its value, per attribute", iot: dev, orderFree: true,
			bodies: []string{
				body(100, "MACHINE_UPDATE_INFO", dev, `"name":"A","country":"TH","errorStatus":"OK"`),
				body(200, "MACHINE_UPDATE_INFO", dev, `"name":"B","errorStatus":null`),
				body(150, "MACHINE_UPDATE_INFO", dev, `"country":"LA","errorStatus":"ERROR"`),
			},
			want: map[string]string{"name": `"B"`, "country": `"LA"`, "errorStatus": `"ERROR"`}},
		{name: "unknown enum values are kept", iot: dev,
			bodies: []string{body(1, "MACHINE_UPDATE_INFO", dev, `"machineType":"NFULL_AUTO_9","errorStatus":"DEGRADED"`)},
			want:   map[string]string{"machineType": `"NFULL_AUTO_9"`, "errorStatus": `"DEGRADED"`}},
		{name: "coordinates as numeric strings", iot: dev,
			bodies: []string{body(1, "MACHINE_UPDATE_INFO", dev, `"longitude":"-0.25","latitude":"51.5"`)},
			want:   map[string]string{"longitude": `-0.25`, "latitude": `51.5`}},
		{name: "callTime tie goes to the later stored", iot: dev,
			bodies: []string{full(100, "First"), full(100, "Second")},
			want:   map[string]string{"name": `"Second"`}},
		{name: "callTime tie, other delivery order", iot: dev,
			bodies: []string{full(100, "Second"), full(100, "First")},
			want:   map[string]string{"name": `"First"`}},
	})
}

func TestRuleOnlineIsLatestOfStatusAndInfo(t *testing.T) {
	status := func(at int64, v, ids string) string {
		return `{"callTime":` + itoa(at) + `,"callbackType":"MACHINE_UPDATE_STATUS","iotIdList":` + ids + `,"status":` + v + `}`
	}
	online := func(at int64, v string) string {
		return body(at, "MACHINE_UPDATE_INFO", dev, `"onlineStatus":`+q(v))
	}
	runRuleCases(t, []ruleCase{
		{name: "status 1 for each id in the list", iot: dev, bodies: []string{status(10, "1", "[5,7,9]")},
			want: map[string]string{"online": `true`, "onlineChangedAt": `10`}},
		{name: "status 0 as a numeric string", iot: dev, bodies: []string{status(10, `"0"`, "[7]")},
			want: map[string]string{"online": `false`, "onlineChangedAt": `10`}},
		{name: "info OFFLINE after status 1", iot: dev, orderFree: true,
			bodies: []string{status(10, "1", "[7]"), online(20, "OFFLINE")},
			want:   map[string]string{"online": `false`, "onlineChangedAt": `20`}},
		{name: "late older status does not overwrite info", iot: dev, orderFree: true,
			bodies: []string{online(30, "ONLINE"), status(20, "0", "[7,8]"), status(10, "0", "[7]")},
			want:   map[string]string{"online": `true`, "onlineChangedAt": `30`}},
		{name: "unknown values say nothing", iot: dev, orderFree: true,
			bodies: []string{status(10, "1", "[7]"), status(20, "2", "[7]"), online(30, "SLEEPING"), online(40, "online")},
			want:   map[string]string{"online": `true`, "onlineChangedAt": `10`, "version": `4`, "lastEventAt": `40`}},
		{name: "never reported is null", iot: dev, bodies: []string{status(10, "1", "[8]"), online(5, "UNKNOWN")},
			want: map[string]string{"online": `null`, "onlineChangedAt": `null`, "version": `1`}},
		{name: "an id repeated in the list counts once", iot: dev, bodies: []string{status(10, "1", "[7,7,7]")},
			want: map[string]string{"online": `true`, "version": `1`, "eventCount": `1`}},
	})
}

func TestRuleLastErrorAndErrorCount(t *testing.T) {
	errAt := func(at int64, msg string) string {
		return body(at, "MACHINE_ERROR", dev, `"errorMessage":`+q(msg)+`,"createTime":"2024-11-22 08:07:55"`)
	}
	runRuleCases(t, []ruleCase{
		{name: "no error", iot: dev, bodies: []string{body(1, "FINISH_WASH", dev, `"orderId":"A"`)},
			want: map[string]string{"lastError": `null`, "errorCount": `0`}},
		{name: "latest error, every event counted", iot: dev, orderFree: true,
			bodies: []string{errAt(30, "[M835]Abnormal photoelectric signal (X035)"), errAt(10, "old"), errAt(20, "old too")},
			want: map[string]string{"errorCount": `3`,
				"lastError": `{"message":"[M835]Abnormal photoelectric signal (X035)","createTime":"2024-11-22 08:07:55","at":30}`}},
		{name: "same message twice is two errors", iot: dev, orderFree: true,
			bodies: []string{errAt(10, "E1"), errAt(20, "E1")},
			want:   map[string]string{"errorCount": `2`, "lastError": `{"message":"E1","createTime":"2024-11-22 08:07:55","at":20}`}},
		{name: "absent fields are empty", iot: dev, bodies: []string{body(5, "MACHINE_ERROR", dev, `"createTime":"2024-11-22"`)},
			want: map[string]string{"errorCount": `1`, "lastError": `{"message":"","createTime":"2024-11-22","at":5}`}},
	})
}

func TestRuleParkingIsLatestNormalised(t *testing.T) {
	park := func(at int64, typ, status string) string { return body(at, typ, dev, `"status":`+status) }
	norm := []struct{ typ, raw, status string }{
		{"MACHINE_FA_CAR_CHANGE", `"SUCCESS"`, "SUCCESS"},
		{"MACHINE_FA_CAR_CHANGE", `"FAIL"`, "FAIL"},
		{"MACHINE_FA_CAR_CHANGE", `"BACK"`, "BACK"},
		{"MACHINE_FA_CAR_CHANGE", `"ENTER"`, "FORWARD"},
		{"MACHINE_FA_CAR_CHANGE", `"WAIT"`, "WAIT"},
		{"MACHINE_FA_CAR_CHANGE", `"FORWARD"`, "UNKNOWN"},
		{"MACHINE_FA_CAR_CHANGE", `"enter"`, "UNKNOWN"},
		{"MACHINE_RT2_CAR_CHANGE", `"SUCCESS"`, "SUCCESS"},
		{"MACHINE_RT2_CAR_CHANGE", `"BACK"`, "BACK"},
		{"MACHINE_RT2_CAR_CHANGE", `"FORWARD"`, "FORWARD"},
		{"MACHINE_RT2_CAR_CHANGE", `"WAIT"`, "WAIT"},
		{"MACHINE_RT2_CAR_CHANGE", `"ENTER"`, "UNKNOWN"},
		{"ZY_RT_PARK_CHANGE", `0`, "SUCCESS"},
		{"ZY_RT_PARK_CHANGE", `"0"`, "SUCCESS"},
		{"ZY_RT_PARK_CHANGE", `16`, "FORWARD"},
		{"ZY_RT_PARK_CHANGE", `"16"`, "FORWARD"},
		{"ZY_RT_PARK_CHANGE", `17`, "BACK"},
		{"ZY_RT_PARK_CHANGE", `"17"`, "BACK"},
		{"ZY_RT_PARK_CHANGE", `18`, "UNKNOWN"},
		{"ZY_RT_PARK_CHANGE", `16.5`, "UNKNOWN"},
		{"ZY_RT_PARK_CHANGE", `"SUCCESS"`, "UNKNOWN"},
		{"ZY_RT_PARK_CHANGE", `null`, "UNKNOWN"},
	}
	var cases []ruleCase
	for _, n := range norm {
		raw := n.raw
		cases = append(cases, ruleCase{name: n.typ + " " + n.raw, iot: dev, bodies: []string{park(9, n.typ, n.raw)},
			want: map[string]string{"parking": `{"status":"` + n.status + `","raw":` + raw + `,"callbackType":"` + n.typ + `","at":9}`}})
	}
	cases = append(cases,
		ruleCase{name: "latest of the three types", iot: dev, orderFree: true,
			bodies: []string{park(30, "ZY_RT_PARK_CHANGE", "17"), park(10, "MACHINE_FA_CAR_CHANGE", `"ENTER"`), park(20, "MACHINE_RT2_CAR_CHANGE", `"WAIT"`)},
			want:   map[string]string{"parking": `{"status":"BACK","raw":17,"callbackType":"ZY_RT_PARK_CHANGE","at":30}`}},
		ruleCase{name: "absent status is UNKNOWN", iot: dev, bodies: []string{body(3, "MACHINE_FA_CAR_CHANGE", dev, "")},
			want: map[string]string{"parking": `{"status":"UNKNOWN","raw":null,"callbackType":"MACHINE_FA_CAR_CHANGE","at":3}`}},
		ruleCase{name: "no parking callback", iot: dev, bodies: []string{body(3, "FINISH_WASH", dev, `"orderId":"A"`)},
			want: map[string]string{"parking": `null`}},
	)
	runRuleCases(t, cases)
}

func TestRuleWashesCountDistinctOrders(t *testing.T) {
	wash := func(at int64, order string) string { return body(at, "FINISH_WASH", dev, `"orderId":`+q(order)) }
	runRuleCases(t, []ruleCase{
		{name: "none", iot: dev, bodies: []string{body(1, "MACHINE_ERROR", dev, "")},
			want: map[string]string{"washesCompleted": `0`, "lastWash": `null`}},
		{name: "distinct orders, latest wash", iot: dev, orderFree: true,
			bodies: []string{wash(10, "A"), wash(30, "C"), wash(20, "B")},
			want:   map[string]string{"washesCompleted": `3`, "lastWash": `{"orderId":"C","at":30}`}},
		{name: "an order finished twice counts once", iot: dev, orderFree: true,
			bodies: []string{wash(10, "A"), wash(20, "A"), wash(15, "B")},
			want:   map[string]string{"washesCompleted": `2`, "lastWash": `{"orderId":"A","at":20}`, "eventCount": `3`}},
		{name: "seed example", iot: 123456, bodies: []string{`{"callTime": 12345667890, "callbackType": "FINISH_WASH", "washerId": 123456, "iotId":123456, "orderId":"ORDER123456"}`},
			want: map[string]string{"washesCompleted": `1`, "lastWash": `{"orderId":"ORDER123456","at":12345667890}`, "iotId": `123456`}},
	})
}

func TestRuleTunnelCounters(t *testing.T) {
	into := func(at int64, status string) string {
		return body(at, "MACHINE_TT1_CAR_INTO", dev, `"status":`+q(status))
	}
	out := func(at int64, ids string) string {
		return body(at, "MACHINE_TT1_CAR_PUSH_OUT", dev, `"orderIdList":`+ids)
	}
	runRuleCases(t, []ruleCase{
		{name: "always an object", iot: dev, bodies: []string{body(1, "FINISH_WASH", dev, `"orderId":"A"`)},
			want: map[string]string{"tunnel": `{"entries":0,"entryTimeouts":0,"pushedOutOrders":0,"lastEntryAt":null}`}},
		{name: "entries, timeouts, last entry", iot: dev, orderFree: true,
			bodies: []string{into(10, "SUCCESS"), into(40, "INTO_TIME_OUT"), into(30, "SUCCESS"), into(20, "SUCCESS"), into(50, "JAMMED")},
			want:   map[string]string{"tunnel": `{"entries":3,"entryTimeouts":1,"pushedOutOrders":0,"lastEntryAt":30}`, "version": `5`}},
		{name: "distinct pushed-out orders across lists", iot: dev, orderFree: true,
			bodies: []string{out(10, `["T1","T2"]`), out(20, `["T2","T3","T3"]`), out(30, `[]`), out(40, `["","T1",null]`)},
			want:   map[string]string{"tunnel": `{"entries":0,"entryTimeouts":0,"pushedOutOrders":3,"lastEntryAt":null}`}},
	})
}

func TestRuleWaterPurifierSessions(t *testing.T) {
	wp := func(at int64, typ, order string) string { return body(at, typ, dev, `"orderId":`+q(order)) }
	finish := func(at int64, order string, vol int) string {
		return body(at, "WP1_WORK_FINISH", dev, `"orderId":`+q(order)+`,"volume":`+itoa(int64(vol)))
	}
	tds := func(at, src, clean int64) string {
		return body(at, "WP1_UPLOAD_TDS", dev, `"sourceTds":`+itoa(src)+`,"cleanTds":`+itoa(clean))
	}
	wpJSON := func(session string, done int) string {
		return `{"sourceTds":null,"cleanTds":null,"tdsAt":null,"session":` + session + `,"dispensesCompleted":` + itoa(int64(done)) + `}`
	}
	runRuleCases(t, []ruleCase{
		{name: "null until a WP1 callback", iot: dev, bodies: []string{body(1, "FINISH_WASH", dev, `"orderId":"A"`)},
			want: map[string]string{"waterPurifier": `null`}},
		{name: "ready", iot: dev, bodies: []string{wp(10, "WP1_CARD_CONSUME_READY", "W1")},
			want: map[string]string{"waterPurifier": wpJSON(`{"orderId":"W1","status":"READY","volumeLeftMl":null,"at":10}`, 0)}},
		{name: "full session in any order", iot: dev, orderFree: true,
			bodies: []string{wp(10, "WP1_CARD_CONSUME_READY", "W1"), wp(20, "WP1_START_WATER", "W1"), wp(30, "WP1_WAIT_TIMEOUT", "W1"), finish(40, "W1", 350)},
			want:   map[string]string{"waterPurifier": wpJSON(`{"orderId":"W1","status":"FINISHED","volumeLeftMl":350,"at":40}`, 1)}},
		{name: "a late START_WATER never reopens a finished order", iot: dev, orderFree: true,
			bodies: []string{wp(10, "WP1_CARD_CONSUME_READY", "W1"), finish(40, "W1", 0), wp(50, "WP1_START_WATER", "W1")},
			want:   map[string]string{"waterPurifier": wpJSON(`{"orderId":"W1","status":"FINISHED","volumeLeftMl":0,"at":40}`, 1)}},
		{name: "resume after timeout dispenses again", iot: dev, orderFree: true,
			bodies: []string{wp(10, "WP1_CARD_CONSUME_READY", "W1"), wp(20, "WP1_START_WATER", "W1"), wp(30, "WP1_WAIT_TIMEOUT", "W1"), wp(35, "WP1_START_WATER", "W1")},
			want:   map[string]string{"waterPurifier": wpJSON(`{"orderId":"W1","status":"DISPENSING","volumeLeftMl":null,"at":35}`, 0)}},
		{name: "timed out", iot: dev, orderFree: true,
			bodies: []string{wp(20, "WP1_START_WATER", "W1"), wp(30, "WP1_WAIT_TIMEOUT", "W1")},
			want:   map[string]string{"waterPurifier": wpJSON(`{"orderId":"W1","status":"TIMED_OUT","volumeLeftMl":null,"at":30}`, 0)}},
		{name: "the order with the latest callback is shown", iot: dev, orderFree: true,
			bodies: []string{wp(10, "WP1_CARD_CONSUME_READY", "W1"), wp(20, "WP1_START_WATER", "W1"), wp(50, "WP1_CARD_CONSUME_READY", "W2"), finish(40, "W1", 120)},
			want:   map[string]string{"waterPurifier": wpJSON(`{"orderId":"W2","status":"READY","volumeLeftMl":null,"at":50}`, 1)}},
		{name: "distinct finished orders", iot: dev, orderFree: true,
			bodies: []string{finish(10, "W1", 5), finish(20, "W2", 6), finish(30, "W1", 7)},
			want:   map[string]string{"waterPurifier": wpJSON(`{"orderId":"W1","status":"FINISHED","volumeLeftMl":7,"at":30}`, 2)}},
		{name: "finish without volume", iot: dev, bodies: []string{wp(10, "WP1_WORK_FINISH", "W1")},
			want: map[string]string{"waterPurifier": wpJSON(`{"orderId":"W1","status":"FINISHED","volumeLeftMl":null,"at":10}`, 1)}},
		{name: "a finish without volume keeps an earlier finish's volume", iot: dev, orderFree: true,
			bodies: []string{finish(10, "W1", 5), wp(20, "WP1_WORK_FINISH", "W1")},
			want:   map[string]string{"waterPurifier": wpJSON(`{"orderId":"W1","status":"FINISHED","volumeLeftMl":5,"at":20}`, 1)}},
		{name: "each TDS reading is the latest upload that sent it", iot: dev, orderFree: true,
			bodies: []string{tds(10, 250, 20), body(20, "WP1_UPLOAD_TDS", dev, `"sourceTds":230`), body(30, "WP1_UPLOAD_TDS", dev, `"cleanTds":null`)},
			want:   map[string]string{"waterPurifier": `{"sourceTds":230,"cleanTds":20,"tdsAt":30,"session":null,"dispensesCompleted":0}`}},
		{name: "latest TDS", iot: dev, orderFree: true,
			bodies: []string{tds(30, 200, 10), tds(10, 250, 20), tds(20, 220, 15)},
			want:   map[string]string{"waterPurifier": `{"sourceTds":200,"cleanTds":10,"tdsAt":30,"session":null,"dispensesCompleted":0}`}},
	})
}

func TestRuleEventCountVersionLastEventAt(t *testing.T) {
	runRuleCases(t, []ruleCase{
		{name: "every event, greatest callTime", iot: dev, orderFree: true,
			bodies: []string{body(30, "FINISH_WASH", dev, `"orderId":"A"`), body(10, "MACHINE_ERROR", dev, ""), body(20, "MACHINE_TT1_CAR_INTO", dev, `"status":"SUCCESS"`)},
			want:   map[string]string{"eventCount": `3`, "version": `3`, "lastEventAt": `30`, "iotId": `7`}},
		{name: "unknown types are skipped: not counted, nothing changed", iot: dev, orderFree: true,
			bodies: []string{body(10, "FINISH_WASH", dev, `"orderId":"A"`), body(40, "MACHINE_TT2_CAR_WAVE", dev, `"name":"ignored","status":"SUCCESS"`)},
			want: map[string]string{"eventCount": `1`, "version": `1`, "lastEventAt": `10`, "name": `null`, "washesCompleted": `1`,
				"parking": `null`, "tunnel": `{"entries":0,"entryTimeouts":0,"pushedOutOrders":0,"lastEntryAt":null}`}},
		{name: "a status list counts once for each device in it", iot: 8, orderFree: true,
			bodies: []string{`{"callTime":10,"callbackType":"MACHINE_UPDATE_STATUS","iotIdList":[7,8],"status":1}`, body(20, "FINISH_WASH", dev, `"orderId":"A"`)},
			want:   map[string]string{"eventCount": `1`, "version": `1`, "lastEventAt": `10`, "iotId": `8`}},
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
