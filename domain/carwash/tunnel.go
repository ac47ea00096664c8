package carwash

// applyTunnel counts entries and timeouts per event (a replay is no event:
// Evolve drops it by position) and push-outs per distinct order id.
func applyTunnel(s *DeviceState, c *Callback) {
	tn := &s.Device.Tunnel
	if c.CallbackType == TT1CarPushOut {
		for _, id := range c.OrderIDList {
			if id == "" {
				continue
			}
			if _, seen := s.PushedOut[id]; seen {
				continue
			}
			if s.PushedOut == nil {
				s.PushedOut = make(OrderSet)
			}
			s.PushedOut[id] = struct{}{}
			tn.PushedOutOrders++
		}
		return
	}
	status, _ := unquote(c.Status)
	switch status {
	case "SUCCESS":
		tn.Entries++
		if tn.LastEntryAt == nil || c.CallTime > *tn.LastEntryAt {
			t := c.CallTime
			tn.LastEntryAt = &t
		}
	case "INTO_TIME_OUT":
		tn.EntryTimeouts++
	}
}
