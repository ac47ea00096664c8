package carwash

// applyInfo takes each attribute MACHINE_UPDATE_INFO reports, when it is
// the latest report of that attribute; absent attributes keep their value.
func applyInfo(s *DeviceState, c *Callback) {
	t := c.CallTime
	d := &s.Device
	latestString(&d.MachineType, &s.At.MachineType, c.MachineType, t)
	latestString(&d.Name, &s.At.Name, c.Name, t)
	latestString(&d.Country, &s.At.Country, c.Country, t)
	latestString(&d.Address, &s.At.Address, c.Address, t)
	latestString(&d.ErrorStatus, &s.At.ErrorStatus, c.ErrorStatus, t)
	if c.Longitude != nil && t >= s.At.Longitude {
		d.Longitude, s.At.Longitude = c.Longitude, t
	}
	if c.Latitude != nil && t >= s.At.Latitude {
		d.Latitude, s.At.Latitude = c.Latitude, t
	}
	if c.OnlineStatus != nil {
		switch *c.OnlineStatus {
		case "ONLINE":
			setOnline(s, true, t)
		case "OFFLINE":
			setOnline(s, false, t)
		}
	}
}

func latestString(dst **string, at *int64, v *string, t int64) {
	if v != nil && t >= *at {
		*dst, *at = v, t
	}
}

// applyStatus reads MACHINE_UPDATE_STATUS: 1 online, 0 offline; other
// values are kept in the event but say nothing about the device.
func applyStatus(s *DeviceState, c *Callback) {
	if c.Status == nil {
		return
	}
	b := c.Status
	if b[0] == '"' {
		b = b[1 : len(b)-1]
	}
	if n, ok := parseInt64(b); ok && (n == 0 || n == 1) {
		setOnline(s, n == 1, c.CallTime)
	}
}

func setOnline(s *DeviceState, online bool, t int64) {
	if t < s.At.Online {
		return
	}
	s.At.Online = t
	s.Device.Online, s.Device.OnlineChangedAt = &online, &t
}
