import gevent
from comprimemelo.server.gunicorn_gevent import GeventWorker
class Fair4(GeventWorker):
    """Yield every 4th keep-alive request of a connection (measurement only)."""
    def handle_request(self, listener_name, req, sock, addr):
        keep = super().handle_request(listener_name, req, sock, addr)
        if req.req_number % 4 == 0:
            gevent.sleep(0)
        return keep
