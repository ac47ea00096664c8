package energy

import "testing"

func TestLedgerEntryOf(t *testing.T) {
	h := hashOf("x")
	e := event(t, body(t, map[string]any{"totalDelegateNums": 4, "hash": h, "energyNums": "65000",
		"orderMoney": "1.96", "recharge": 1, "state": 1}), 3)
	got, ok, err := LedgerEntryOf(e)
	want := LedgerEntry{Position: e.Position, EventID: e.ID, RecordedAt: e.RecordedAt, OrderID: "E1",
		TotalDelegateNums: 4, Hash: h, EnergyNums: 65000, OrderMoneySun: 1960000, Recharge: 1, State: 1}
	if err != nil || !ok || got != want {
		t.Fatalf("LedgerEntryOf = %+v, %v, %v\nwant %+v", got, ok, err, want)
	}
	for _, f := range []map[string]any{{"orderMoney": 0}, {"orderMoney": ""}, {"state": 1}} {
		if _, ok, err := LedgerEntryOf(event(t, body(t, f), 1)); ok || err != nil {
			t.Errorf("%v: ok %v err %v, want no entry", f, ok, err)
		}
	}
	other := e
	other.Type = "carwash.FINISH_WASH"
	if _, ok, err := LedgerEntryOf(other); ok || err != nil {
		t.Errorf("other type: ok %v err %v", ok, err)
	}
	broken := e
	broken.Data = []byte(`{"orderId":"E1","orderMoney":"x"}`)
	if _, _, err := LedgerEntryOf(broken); err == nil {
		t.Error("unreadable data gave no error")
	}
}
