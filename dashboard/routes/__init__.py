"""The dashboard's routes, one APIRouter per concern; dashboard.app.create_app includes them all.

  deps         the shared FastAPI dependencies: app.state objects, the staff session, the CSRF-checked form
  params       query and form values shared by routes: safe redirect targets, periods
  handlers     what wraps every route: security headers, the login redirect and the error pages
  health       /healthz
  auth         /login, /logout
  feedback     /feedback, /feedback/{id}/ack, /public
  figures      / (overview), /gaps, /funnel
  procedures   /procedures
  exports      /reports, /export
"""
