"""One module per resource; each exports ``router``. Adding a resource is a new module
here plus one line in :data:`ROUTERS`, with its permissions in ``auth.PERMISSIONS``."""

from clearline.api.routes import accounts, audit, loads, me, models, policies, reviews

ROUTERS = (
    me.router,
    accounts.router,
    reviews.router,
    loads.router,
    policies.router,
    models.router,
    audit.router,
)
