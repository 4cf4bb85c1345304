from django.urls import include, path, re_path

from . import public_views

urlpatterns = [
    path("t/o/<str:token>.gif", public_views.open_pixel, name="delivery-open"),
    path("t/c/<str:token>", public_views.click, name="delivery-click"),
    re_path(
        r"^t/i/(?P<token>[\w-]+)/(?P<kind>price|stock|countdown)\.png$",
        public_views.live_image,
        name="delivery-live-image",
    ),
    path("t/u/<str:token>", public_views.unsubscribe, name="delivery-unsubscribe"),
    path("t/p/<str:token>", public_views.preferences, name="delivery-preferences"),
    path("t/v/<str:token>", public_views.view_in_browser, name="delivery-view"),
    # Provider webhooks (bounces, complaints): /t/esp/<provider>/tracking/ (django-anymail)
    path("t/esp/", include("anymail.urls")),
]
