"""Payment gateways: plug-ins behind one interface (rule Y4); ``sandbox`` is built in."""
