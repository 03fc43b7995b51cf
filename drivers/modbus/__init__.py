"""Modbus/TCP: the register map planned from the profiles, and the client transport."""
