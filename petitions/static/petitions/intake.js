/* CivicGrid intake form (信访登记): the location map and the petitioner rows.
 *
 * A static file (no inline script, so a strict CSP can forbid inline code). The view passes its
 * configuration in <script type="application/json" id="petitionmap-config">; django-leaflet
 * creates the map (exposed as window.leafletmappetitionmap) and fires `map:init`.
 *
 * A click on the map puts the WGS-84 point into the hidden lng/lat fields and clears the typed
 * coordinates; typed coordinates (in the chosen CRS) win on the server. Either way the cell is
 * looked up through the grid locate API and shown below the map. The map container carries
 * data-state (loading|ready|error|empty) for the cell layer and data-cell once a point is located,
 * so tests can wait for them.
 */
(function () {
  "use strict";

  var MAP_ID = "petitionmap";
  var CELL_STYLE = { color: "#b5542c", weight: 1, opacity: 0.8, fillColor: "#e39b6f", fillOpacity: 0.08 };

  function $(id) { return document.getElementById(id); }

  function readConfig() {
    var element = $("petitionmap-config");
    return element ? JSON.parse(element.textContent) : null;
  }

  function number(input) {
    if (!input || input.value.trim() === "") return null;
    var value = Number(input.value);
    return isFinite(value) ? value : null;
  }

  function IntakeMap(map, config) {
    this.map = map;
    this.config = config;
    this.container = map.getContainer();
    this.status = $("petitionmap-status");
    this.marker = null;
    this.cells = null;
    this.cellRequest = null;
    this.locateRequest = null;
    this.fields = {
      lng: $("id_lng"),
      lat: $("id_lat"),
      manualLng: $("id_manual_lng"),
      manualLat: $("id_manual_lat"),
      crs: $("id_crs")
    };
  }

  IntakeMap.prototype.start = function () {
    var self = this;
    var layers = this.config.basemap || [];
    if (!layers.length) L.DomUtil.addClass(this.container, "intake-map--plain");
    layers.forEach(function (layer) { L.tileLayer(layer.url, layer.options).addTo(self.map); });
    var e = this.config.extent;
    if (e) this.map.fitBounds([[e[1], e[0]], [e[3], e[2]]], { animate: false });
    this.map.on("click", function (event) { self.placeFromMap(event.latlng); });
    this.map.on("moveend", function () { self.loadCells(); });
    ["manualLng", "manualLat", "crs"].forEach(function (key) {
      var input = self.fields[key];
      if (input) input.addEventListener("change", function () { self.placeFromInputs(); });
    });
    this.restore();
    this.loadCells();
  };

  // After a re-rendered form (errors, repeat candidates) show the point that was chosen.
  IntakeMap.prototype.restore = function () {
    var lng = number(this.fields.lng);
    var lat = number(this.fields.lat);
    if (number(this.fields.manualLng) !== null && number(this.fields.manualLat) !== null) {
      this.placeFromInputs();
    } else if (lng !== null && lat !== null) {
      this.setMarker(L.latLng(lat, lng));
      this.locate(lng, lat, "wgs84");
    }
  };

  IntakeMap.prototype.setMarker = function (latlng) {
    if (this.marker) this.marker.setLatLng(latlng);
    else this.marker = L.circleMarker(latlng, {
      radius: 8, color: "#d62828", weight: 3, fillColor: "#d62828", fillOpacity: 0.5
    }).addTo(this.map);
  };

  IntakeMap.prototype.clearMarker = function () {
    if (this.marker) this.map.removeLayer(this.marker);
    this.marker = null;
  };

  IntakeMap.prototype.placeFromMap = function (latlng) {
    var lng = latlng.lng;
    var lat = latlng.lat;
    this.fields.lng.value = lng.toFixed(7);
    this.fields.lat.value = lat.toFixed(7);
    // The click is the location now: typed coordinates would override it on the server.
    this.fields.manualLng.value = "";
    this.fields.manualLat.value = "";
    this.setMarker(latlng);
    this.locate(lng, lat, "wgs84");
  };

  IntakeMap.prototype.placeFromInputs = function () {
    var lng = number(this.fields.manualLng);
    var lat = number(this.fields.manualLat);
    if (lng === null || lat === null) return;
    var crs = this.fields.crs.value;
    this.fields.lng.value = "";
    this.fields.lat.value = "";
    // Only WGS-84 can be drawn as typed; GCJ-02/BD-09 are converted by the server.
    if (crs === "wgs84") {
      this.setMarker(L.latLng(lat, lng));
      this.map.panTo([lat, lng]);
    } else {
      this.clearMarker();
    }
    this.locate(lng, lat, crs);
  };

  IntakeMap.prototype.say = function (text) {
    if (this.status) this.status.textContent = text;
  };

  IntakeMap.prototype.locate = function (lng, lat, crs) {
    var s = this.config.strings;
    var self = this;
    if (this.locateRequest) this.locateRequest.abort();
    var controller = new AbortController();
    this.locateRequest = controller;
    this.container.removeAttribute("data-cell");
    this.say(s.locating);
    var url = this.config.locateUrl + "?lng=" + encodeURIComponent(lng) + "&lat=" +
      encodeURIComponent(lat) + "&crs=" + encodeURIComponent(crs);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal: controller.signal })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (result) {
        if (self.locateRequest !== controller) return;
        self.locateRequest = null;
        if (result.found && result.cell) {
          self.container.setAttribute("data-cell", result.cell.code);
          self.say(s.found.replace("%(code)s", result.cell.code).replace("%(name)s", result.cell.name));
        } else {
          self.container.setAttribute("data-cell", "");
          self.say(s.notFound);
        }
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        self.say(s.error);
        if (window.console) console.error("intake locate:", error);
      });
  };

  // The cells of the visible area, drawn under the clicks (not interactive: a click anywhere on
  // the map places the point).
  IntakeMap.prototype.loadCells = function () {
    var self = this;
    var bounds = this.map.getBounds().pad(0.25);
    var url = this.config.cellLayerUrl + "?bbox=" +
      [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
        .map(function (n) { return n.toFixed(6); }).join(",") + "&zoom=" + this.map.getZoom();
    if (this.cellRequest) this.cellRequest.abort();
    var controller = new AbortController();
    this.cellRequest = controller;
    this.container.setAttribute("data-state", "loading");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json, application/json" }, signal: controller.signal })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (collection) {
        if (self.cellRequest !== controller) return;
        self.cellRequest = null;
        var layer = L.geoJSON(collection, { style: function () { return CELL_STYLE; }, interactive: false });
        if (self.cells) self.map.removeLayer(self.cells);
        self.cells = layer.addTo(self.map);
        if (self.marker) self.marker.bringToFront();
        self.container.setAttribute("data-state", "ready");
        self.container.setAttribute("data-features", String((collection.features || []).length));
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        self.container.setAttribute("data-state", "error");
        if (window.console) console.error("intake cells:", error);
      });
  };

  window.addEventListener("map:init", function (event) {
    if (event.detail.id !== MAP_ID) return;
    var config = readConfig();
    if (!config) return;
    new IntakeMap(event.detail.map, config).start();
  });

  // Petitioner rows: five are rendered; "add" clones the formset's empty form.
  function bindPetitionerRows() {
    var button = $("petitioner-add");
    var template = $("petitioner-empty-row");
    var rows = $("petitioner-rows");
    var total = document.querySelector("input[name=petitioners-TOTAL_FORMS]");
    var max = document.querySelector("input[name=petitioners-MAX_NUM_FORMS]");
    if (!button || !template || !rows || !total) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var index = Number(total.value);
      if (max && index >= Number(max.value)) return;
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var holder = document.createElement("div");
      holder.innerHTML = html.trim();
      var row = holder.firstElementChild;
      row.setAttribute("data-row", String(index));
      rows.appendChild(row);
      total.value = String(index + 1);
      var first = row.querySelector("input");
      if (first) first.focus();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bindPetitionerRows);
  else bindPetitionerRows();
})();
