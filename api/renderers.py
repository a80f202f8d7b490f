from rest_framework.renderers import JSONRenderer


class GeoJsonRenderer(JSONRenderer):
    """Lets a client ask for `Accept: application/geo+json` on GeoJSON layers (else 406)."""

    media_type = "application/geo+json"
    format = "geojson"


GEOJSON_RENDERERS = [JSONRenderer, GeoJsonRenderer]
