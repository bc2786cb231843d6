"""The sender: what runs on the customer's monitoring host.

`pipeline` takes an event or a document through the steps in order (write, seal, spool, deliver); `spool/` keeps
every sealed message durably until a transport took it; `deliver/` holds the transports (smtp, sendmail,
microsoft365, https); `message` is the sealed message they carry; `setup_check` walks a new install step by step.
"""
