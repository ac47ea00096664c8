package projections

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tidemark/tidemark/domain"

	"github.com/tidemark/tidemark/domain/carwash"
)

// devicesTable: one row per iotId. The filter columns repeat fields of
// the device JSON; each index ends with iot_id for keyset pagination.
var devicesTable = &Table{
	Name: "devices",
	Columns: []Column{
		{Name: "iot_id", Type: Int64},
		{Name: "machine_type", Type: Text, Nullable: true},
		{Name: "online", Type: Bool, Nullable: true},
		{Name: "error_status", Type: Text, Nullable: true},
		{Name: "parking_status", Type: Text, Nullable: true},
		{Name: "tx_id", Type: Int64}, // position of the last event applied
		{Name: "seq", Type: Int64},
		{Name: "state", Type: JSON},  // carwash.DeviceState but its Device, to resume folding
		{Name: "device", Type: JSON}, // carwash.Device, served as is (and the state's Device)
	},
	Key: []string{"iot_id"},
	Indexes: [][]string{
		{"machine_type", "iot_id"},
		{"online", "iot_id"},
		{"error_status", "iot_id"},
		{"parking_status", "iot_id"},
	},
	// Every event rewrites its device's row, rarely changing a filter
	// column: with half of each page free most rewrites stay on the page
	// (HOT) and leave the five indexes alone. A fleet is small.
	FillFactor: 50,
}

// deviceOrdersTable is the devices' per-order memory (carwash.OrderEntry):
// one row per device, kind and order id, written as the orders come, so a
// device's row keeps its size however many orders the device has had.
var deviceOrdersTable = &Table{
	Name: "device_orders",
	Columns: []Column{
		{Name: "iot_id", Type: Int64},
		{Name: "kind", Type: Text},
		{Name: "order_id", Type: Text},
		{Name: "water", Type: JSON, Nullable: true}, // carwash.WaterOrder, for kind water
	},
	Key:        []string{"iot_id", "kind", "order_id"},
	KeyOrdered: true,
}

// Devices is the device read model (domain.md §1), folded by carwash.Evolve.
type Devices struct{}

// Name implements Projection.
func (Devices) Name() string { return "devices" }

// Version implements Projection. Version 2 keeps the per-order memory in
// device_orders instead of in each device's state, and the device document
// once, in device, and no longer inside state too. Version 3 skips
// callbacks of unknown types (they were counted in eventCount and version),
// and a TDS reading or a volume a callback omits no longer blanks the last one.
func (Devices) Version() int { return 3 }

// Tables implements Projection.
func (Devices) Tables() []*Table { return []*Table{devicesTable, deviceOrdersTable} }

// Handles implements Projection.
func (Devices) Handles(eventType string) bool { return handlesPrefix(carwash.TypePrefix)(eventType) }

func (Devices) typePrefix() string { return carwash.TypePrefix }

// NewFold implements Projection.
func (Devices) NewFold() Fold {
	return &deviceFold{keyed: &keyed[int64, carwash.DeviceState, carwash.Callback]{
		table:    devicesTable,
		keyCol:   "iot_id",
		stateCol: "state",
		docCol:   "device",
		join:     func(s *carwash.DeviceState, doc []byte) error { return json.Unmarshal(doc, &s.Device) },
		parse:    parseDeviceEvent,
		evolve: func(s carwash.DeviceState, iotID int64, e domain.Event, c carwash.Callback) (carwash.DeviceState, error) {
			return carwash.Apply(s, iotID, e.Position, c)
		},
		// No clone: Apply fails only for an event without a position, which
		// parseDeviceEvent rejects first, so no key's evolve fails.
		row:      deviceRow,
		parseKey: int64Key,
	}}
}

// parseDeviceEvent parses a car-wash event once for all the devices it
// touches (carwash.Affected, then carwash.Apply for each).
func parseDeviceEvent(e domain.Event) (carwash.Callback, []int64, error) {
	if e.Position.IsZero() {
		return carwash.Callback{}, nil, fmt.Errorf("event %s has no log position: %w", e.ID, domain.ErrInvalidEvent)
	}
	if !strings.HasPrefix(e.Type, carwash.TypePrefix) {
		return carwash.Callback{}, nil, nil
	}
	c, err := carwash.ParseCallback(e.Data)
	if err != nil {
		return c, nil, fmt.Errorf("carwash: event %s at %s: %w", e.ID, e.Position, err)
	}
	return c, c.Devices(), nil
}

func deviceRow(iotID int64, s carwash.DeviceState) ([]any, error) {
	d := s.Device
	s.Device = carwash.Device{} // stored once, in the device column
	state, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("device %d state: %w", iotID, err)
	}
	d.IotID = iotID
	doc, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("device %d: %w", iotID, err)
	}
	var parking *string
	if d.Parking != nil {
		parking = &d.Parking.Status
	}
	return []any{iotID, filterValue(d.MachineType), d.Online, filterValue(d.ErrorStatus), filterValue(parking),
		int64(s.Position.TxID), s.Position.Seq, state, doc}, nil
}

// maxFilterLen bounds a filter column's value, in bytes. machineType and
// errorStatus are kept as sent, however long, but an index row has a size
// limit (PostgreSQL's btree: about 2.7 kB): a longer value would fail every
// batch that writes the device. Such a value stays in the served document
// and is NULL in the filter column (the filter cannot match it).
const maxFilterLen = 256

// filterValue is a filter column's value: NULL when absent or too long.
func filterValue(s *string) any {
	if s == nil || len(*s) > maxFilterLen {
		return nil
	}
	return *s
}

// Compile-time check.
var _ Projection = Devices{}
