//! Request signature checking for the mock's strict mode: AWS SigV4, Alibaba RPC v1 and ACS3.
