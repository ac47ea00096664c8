package simulate

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// MachineTypes are the platform's machine types, given to devices in turn.
var MachineTypes = []string{"NSELF_HELP_1", "NFULL_AUTO_1", "NFULL_AUTO_2", "NFULL_AUTO_3", "NTUNNEL_1", "WATER_PURIFIER"}

// Normalised parking statuses of the truth (domain.md §1).
const (
	parkSuccess = "SUCCESS"
	parkFail    = "FAIL"
	parkForward = "FORWARD"
	parkBack    = "BACK"
	parkWait    = "WAIT"
	parkUnknown = "UNKNOWN"
)

// cwEvent is one car-wash callback as the generator means it: the wire
// fields are rendered from it, and the truth is updated from it.
type cwEvent struct {
	typ      string
	callTime int64
	iotID    int64   // 0 for MACHINE_UPDATE_STATUS and the unknown type
	iotIDs   []int64 // MACHINE_UPDATE_STATUS
	orderID  string
	orderIDs []string // MACHINE_TT1_CAR_PUSH_OUT

	status string // the status JSON text as sent ("" = none)
	park   string // what status means for parking (FA / RT2 / ZY)
	online int8   // MACHINE_UPDATE_STATUS / INFO onlineStatus: 1 online, 0 offline, -1 not said

	info        *device // MACHINE_UPDATE_INFO: the device's attributes
	errorStatus string  // INFO errorStatus ("" = absent)
	fullInfo    bool    // INFO with every attribute; else a partial update

	errorMessage, createTime string
	volume                   int64 // WP1_WORK_FINISH
	sourceTds, cleanTds      int64 // WP1_UPLOAD_TDS
	washerID                 int64 // FINISH_WASH extra field like the seed's (0 = absent)
}

// device is one simulated machine and what it is doing.
type device struct {
	iotID                  int64
	machineType            string
	name, country, address string
	lon, lat               string // JSON number text
	infoSent               bool
	plan                   []cwEvent // upcoming callbacks, callTime set when emitted
	seq                    int       // order numbers used
	lastWash               string
	inTunnel               []string // tunnel orders entered, not yet pushed out
	pushed                 []string // recent push-outs, for the odd repeat
	errored                bool
}

var places = []struct {
	country, city string
	lon, lat      float64
}{
	{"TH", "Bangkok สุขุมวิท 24", 100.57, 13.73}, {"TH", "Chiang Mai", 98.98, 18.79},
	{"VN", "Hồ Chí Minh", 106.66, 10.76}, {"MY", "Kuala Lumpur", 101.69, 3.14},
	{"ID", "Jakarta", 106.85, -6.21}, {"PH", "Manila", 120.98, 14.60},
	{"CN", "深圳 南山区", 113.93, 22.53}, {"AE", "Dubai", 55.27, 25.20},
}

var errorMessages = []string{
	"[M835]Abnormal photoelectric signal, please check the sensor (X035)",
	"[M102]Water pressure too low (X012)",
	"[M410]Brush motor overload (X041)",
	"[M007]Emergency stop pressed",
	"[E220]Foam pump timeout (X220)",
}

func newDevice(r *rand.Rand, iotID int64, i int) *device {
	p := places[r.IntN(len(places))]
	lon := p.lon + (r.Float64()-0.5)/10
	lat := p.lat + (r.Float64()-0.5)/10
	return &device{
		iotID:       iotID,
		machineType: MachineTypes[i%len(MachineTypes)],
		name:        "Bay " + strconv.Itoa(i+1),
		country:     p.country,
		address:     p.city + ", lot " + strconv.Itoa(1+r.IntN(300)),
		lon:         strconv.FormatFloat(lon, 'f', 6, 64),
		lat:         strconv.FormatFloat(lat, 'f', 6, 64),
	}
}

func (d *device) nextOrder(prefix string) string {
	d.seq++
	return prefix + strconv.FormatInt(d.iotID, 10) + "-" + strconv.Itoa(d.seq)
}

// next returns the device's next callback (callTime left to the caller).
func (d *device) next(r *rand.Rand) cwEvent {
	if !d.infoSent {
		d.infoSent = true
		return cwEvent{typ: machineUpdateInfo, iotID: d.iotID, info: d, fullInfo: true,
			errorStatus: "OK", online: 1}
	}
	if len(d.plan) == 0 {
		d.planCycle(r)
	}
	e := d.plan[0]
	d.plan = d.plan[1:]
	e.iotID = d.iotID
	return e
}

// planCycle plans the device's next round of callbacks: sometimes an
// error or an info update, then one use of the machine.
func (d *device) planCycle(r *rand.Rand) {
	switch x := r.Float64(); {
	case x < 0.04:
		d.errored = true
		d.plan = append(d.plan, cwEvent{typ: machineError,
			errorMessage: errorMessages[r.IntN(len(errorMessages))]})
	case x < 0.08:
		e := cwEvent{typ: machineUpdateInfo, info: d, online: -1, errorStatus: "OK", fullInfo: r.IntN(2) == 0}
		if d.errored {
			e.errorStatus = "ERROR"
			d.errored = r.IntN(2) == 0
		}
		if r.IntN(3) > 0 { // else onlineStatus is left out
			e.online = 1
			if r.IntN(4) == 0 {
				e.online = 0
			}
		}
		d.plan = append(d.plan, e)
	}
	switch d.machineType {
	case "NSELF_HELP_1":
		d.planWash(r)
	case "NFULL_AUTO_1":
		d.planParking(r, faCarChange, []parkStep{{`"ENTER"`, parkForward}, {`"BACK"`, parkBack},
			{`"SUCCESS"`, parkSuccess}, {`"FAIL"`, parkFail}, {`"WAIT"`, parkWait}, {`"PAUSE"`, parkUnknown}})
	case "NFULL_AUTO_2":
		d.planParking(r, rt2CarChange, []parkStep{{`"FORWARD"`, parkForward}, {`"BACK"`, parkBack},
			{`"SUCCESS"`, parkSuccess}, {"", ""}, {`"WAIT"`, parkWait}, {`"forward"`, parkUnknown}})
	case "NFULL_AUTO_3":
		steps := []parkStep{{"16", parkForward}, {"17", parkBack}, {"0", parkSuccess}, {"", ""}, {"", ""}, {"3", parkUnknown}}
		if r.IntN(2) == 0 { // this ZY firmware sends codes as strings
			for i := range steps {
				if steps[i].raw != "" {
					steps[i].raw = `"` + steps[i].raw + `"`
				}
			}
		}
		d.planParking(r, zyParkChange, steps)
	case "NTUNNEL_1":
		d.planTunnel(r)
	case "WATER_PURIFIER":
		d.planWater(r)
	}
}

// parkStep: forward, back, success, fail, wait, unknown (raw "" = the type has none).
type parkStep struct{ raw, park string }

func (d *device) planParking(r *rand.Rand, typ string, s []parkStep) {
	add := func(p parkStep) {
		if p.raw != "" {
			d.plan = append(d.plan, cwEvent{typ: typ, status: p.raw, park: p.park})
		}
	}
	for range 1 + r.IntN(2) {
		add(s[0])
	}
	if r.IntN(4) == 0 {
		add(s[1])
		add(s[0])
	}
	if r.IntN(50) == 0 {
		add(s[5]) // a status this project does not know: kept, shown UNKNOWN
	}
	if s[3].raw != "" && r.IntN(10) == 0 {
		add(s[3])
	} else {
		add(s[2])
		d.planWash(r)
	}
	add(s[4])
}

func (d *device) planWash(r *rand.Rand) {
	id := d.nextOrder("W")
	e := cwEvent{typ: finishWash, orderID: id}
	if r.IntN(3) == 0 {
		e.washerID = d.iotID
	}
	d.plan = append(d.plan, e)
	if r.IntN(10) == 0 { // the platform sends FINISH_WASH again when it closes the order
		d.plan = append(d.plan, cwEvent{typ: finishWash, orderID: id})
	}
	d.lastWash = id
}

func (d *device) planTunnel(r *rand.Rand) {
	if r.IntN(10) == 0 {
		d.plan = append(d.plan, cwEvent{typ: tt1CarInto, status: `"INTO_TIME_OUT"`})
	} else {
		d.plan = append(d.plan, cwEvent{typ: tt1CarInto, status: `"SUCCESS"`})
		d.inTunnel = append(d.inTunnel, d.nextOrder("T"))
	}
	if len(d.inTunnel) == 0 || (len(d.inTunnel) < 3 && r.IntN(2) == 0) {
		return
	}
	n := 1 + r.IntN(len(d.inTunnel))
	out := append([]string(nil), d.inTunnel[:n]...)
	d.inTunnel = d.inTunnel[n:]
	if len(d.pushed) > 0 && r.IntN(20) == 0 { // a car reported pushed out twice: counted once
		out = append(out, d.pushed[r.IntN(len(d.pushed))])
	}
	d.plan = append(d.plan, cwEvent{typ: tt1CarPushOut, orderIDs: out})
	for _, id := range out[:n] {
		d.plan = append(d.plan, cwEvent{typ: finishWash, orderID: id})
	}
	d.pushed = append(d.pushed, out[:n]...)
	if len(d.pushed) > 16 {
		d.pushed = d.pushed[len(d.pushed)-16:]
	}
}

func (d *device) planWater(r *rand.Rand) {
	if r.IntN(3) == 0 {
		d.plan = append(d.plan, cwEvent{typ: wp1UploadTDS,
			sourceTds: int64(150 + r.IntN(250)), cleanTds: int64(5 + r.IntN(25))})
	}
	id := d.nextOrder("WP")
	ev := func(typ string) { d.plan = append(d.plan, cwEvent{typ: typ, orderID: id}) }
	ev(wp1CardConsumeReady)
	switch x := r.IntN(10); {
	case x == 0: // never started: times out, then the platform finishes it
		ev(wp1WaitTimeout)
	case x <= 2: // paused, timed out, resumed
		ev(wp1StartWater)
		ev(wp1WaitTimeout)
		ev(wp1StartWater)
	default:
		ev(wp1StartWater)
	}
	d.plan = append(d.plan, cwEvent{typ: wp1WorkFinish, orderID: id, volume: int64(r.IntN(4) * 250)})
	if r.IntN(30) == 0 { // a late START_WATER never reopens a finished order
		ev(wp1StartWater)
	}
}

// fields renders the callback's members in the platform's usual order.
func (e *cwEvent) fields(stringTime bool) []field {
	fs := make([]field, 0, 12)
	fs = append(fs, field{"callTime", jnum(e.callTime, stringTime)}, field{"callbackType", jstr(e.typ)})
	if e.washerID != 0 {
		fs = append(fs, field{"washerId", jint(e.washerID)})
	}
	if e.iotID != 0 {
		fs = append(fs, field{"iotId", jint(e.iotID)})
	}
	switch e.typ {
	case machineUpdateStatus:
		fs = append(fs, field{"iotIdList", jints(e.iotIDs)}, field{"status", e.status})
	case machineUpdateInfo:
		d := e.info
		if e.fullInfo {
			fs = append(fs, field{"name", jstr(d.name)}, field{"country", jstr(d.country)},
				field{"address", jstr(d.address)}, field{"longitude", d.lon}, field{"latitude", d.lat},
				field{"machineType", jstr(d.machineType)})
		}
		if e.errorStatus != "" {
			fs = append(fs, field{"errorStatus", jstr(e.errorStatus)})
		}
		switch e.online {
		case 1:
			fs = append(fs, field{"onlineStatus", `"ONLINE"`})
		case 0:
			fs = append(fs, field{"onlineStatus", `"OFFLINE"`})
		}
	case machineError:
		fs = append(fs, field{"errorMessage", jstr(e.errorMessage)}, field{"createTime", jstr(e.createTime)})
	case tt1CarPushOut:
		fs = append(fs, field{"orderIdList", jstrs(e.orderIDs)})
	case wp1UploadTDS:
		fs = append(fs, field{"sourceTds", jint(e.sourceTds)}, field{"cleanTds", jint(e.cleanTds)})
	case unknownType:
		fs = append(fs, field{"deviceSn", `"SN-` + jint(e.callTime%100000) + `"`}, field{"uptimeSec", jint(e.callTime % 86400)})
	}
	if e.orderID != "" {
		fs = append(fs, field{"orderId", jstr(e.orderID)})
	}
	if e.status != "" && e.typ != machineUpdateStatus {
		fs = append(fs, field{"status", e.status})
	}
	if e.typ == wp1WorkFinish {
		fs = append(fs, field{"volume", jint(e.volume)})
	}
	return fs
}

// unknownType is a callback type the platform may add: accepted, stored in
// carwash.other (it names no device), skipped by the projections.
const unknownType = "MACHINE_HEARTBEAT"

// createTimeOf renders a MACHINE_ERROR createTime from its callTime, the
// way the platform does (date, or date and time).
func createTimeOf(r *rand.Rand, callTime int64) string {
	t := time.UnixMilli(callTime).UTC()
	if r.IntN(5) == 0 {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.DateTime)
}
