/* CivicGrid mediation maps: the grid worker's cells and disputes, and the location picker of the
 * dispute form (phone position, map click, or coordinates typed in with a WGS-84/GCJ-02 toggle).
 *
 * A static file (no inline script, so a strict CSP can forbid inline code). Each map's
 * configuration is in <script type="application/json" id="<map id>-config">; django-leaflet
 * creates the map and fires `map:init`, which is where this file takes over.
 *
 * Browsers' navigator.geolocation and clicks on this map give WGS-84, so both set crs=wgs84.
 * Coordinates copied from AMap/Tencent/WeChat are GCJ-02: the worker ticks the toggle and the
 * server converts them (exactly); the marker here uses a one-step approximation for display only.
 *
 * The map container carries data-state="ready" once drawn and data-cell="<code>" after a picked
 * position has been located, so tests and other scripts can wait for them.
 */
(function () {
  "use strict";

  var MAP_IDS = ["cellsmap", "disputemap", "pickmap"];
  var CELL_STYLE = { color: "#b5542c", weight: 2, opacity: 0.9, fillColor: "#e39b6f", fillOpacity: 0.15 };
  var RISK_COLOURS = { general: "#2a7f62", major: "#e08e0b", serious: "#c62828" };

  function readConfig(id) {
    var element = document.getElementById(id + "-config");
    return element ? JSON.parse(element.textContent) : null;
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  // GCJ-02 → WGS-84, one step (metre-level): only to place the marker; the server converts.
  function gcjToWgs(lng, lat) {
    if (lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271) return [lng, lat];
    var a = 6378245.0, ee = 0.00669342162296594323, x = lng - 105.0, y = lat - 35.0;
    var dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    dLat += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    dLat += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    dLat += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    var dLng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    dLng += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    dLng += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    dLng += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    var radLat = lat / 180.0 * Math.PI, magic = 1 - ee * Math.sin(radLat) * Math.sin(radLat);
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((a * (1 - ee)) / (magic * sqrtMagic) * Math.PI);
    dLng = (dLng * 180.0) / (a / sqrtMagic * Math.cos(radLat) * Math.PI);
    return [lng - dLng, lat - dLat];
  }

  function addBasemap(map, config) {
    var layers = config.basemap || [];
    if (!layers.length) {
      L.DomUtil.addClass(map.getContainer(), "medmap--plain");
      return;
    }
    layers.forEach(function (layer) { L.tileLayer(layer.url, layer.options).addTo(map); });
  }

  // Cell codes and names come from uploaded boundary files: DOM text nodes, never HTML.
  function label(strong, rest) {
    var node = document.createElement("span");
    var b = document.createElement("strong");
    b.textContent = strong;
    node.appendChild(b);
    if (rest) node.appendChild(document.createTextNode(" " + rest));
    return node;
  }

  function drawCells(map, config) {
    var cells = config.cells;
    if (!cells || !cells.features || !cells.features.length) return null;
    return L.geoJSON(cells, {
      style: function () { return CELL_STYLE; },
      interactive: !config.pick,
      onEachFeature: function (feature, layer) {
        var p = feature.properties || {};
        if (!config.pick) layer.bindTooltip(label(p.code, p.name), { sticky: true });
      }
    }).addTo(map);
  }

  function drawDisputes(map, config) {
    (config.disputes || []).forEach(function (d) {
      var marker = L.circleMarker([d.lat, d.lng], {
        radius: 8, weight: 2, color: "#fff", fillColor: RISK_COLOURS[d.risk] || "#555", fillOpacity: 0.95
      }).addTo(map);
      var link = document.createElement("a");
      link.href = d.url;
      link.textContent = d.label;
      marker.bindPopup(link);
    });
  }

  function fit(map, config) {
    var e = config.extent;
    if (e) {
      map.fitBounds([[e[1], e[0]], [e[3], e[2]]], { animate: false, padding: [12, 12] });
    } else if (config.disputes && config.disputes.length === 1) {
      map.setView([config.disputes[0].lat, config.disputes[0].lng], 16, { animate: false });
    }
  }

  /* The picker of the dispute form. */
  function Picker(map, config) {
    this.map = map;
    this.config = config;
    this.s = config.strings;
    this.container = map.getContainer();
    this.lng = document.getElementById("id_lng");
    this.lat = document.getElementById("id_lat");
    this.status = document.getElementById("pick-status");
    this.cell = document.getElementById("pick-cell");
    this.marker = null;
    this.request = null;
  }

  Picker.prototype.crs = function () {
    var checked = document.querySelector('input[name="crs"]:checked');
    return checked ? checked.value : "wgs84";
  };

  Picker.prototype.setCrs = function (value) {
    var input = document.querySelector('input[name="crs"][value="' + value + '"]');
    if (input) input.checked = true;
  };

  Picker.prototype.say = function (text) {
    if (this.status) this.status.textContent = text;
  };

  Picker.prototype.start = function () {
    var self = this;
    this.map.on("click", function (event) {
      var p = event.latlng.wrap();
      self.setCrs("wgs84");
      self.setInputs(p.lng, p.lat);
      self.say(self.s.picked);
      self.update(false);
    });
    var button = document.getElementById("use-location");
    if (button) button.addEventListener("click", function () { self.geolocate(); });
    [this.lng, this.lat].forEach(function (input) {
      if (input) input.addEventListener("change", function () { self.update(true); });
    });
    Array.prototype.forEach.call(document.querySelectorAll('input[name="crs"]'), function (input) {
      input.addEventListener("change", function () { self.update(true); });
    });
    if (this.lng && this.lat && this.lng.value && this.lat.value) this.update(true);
    // A second tap on a slow phone connection must not record the dispute twice.
    var form = document.getElementById("dispute-form");
    if (form) {
      form.addEventListener("submit", function () {
        var submit = form.querySelector('button[type="submit"]');
        if (submit) window.setTimeout(function () { submit.disabled = true; }, 0);
      });
    }
  };

  Picker.prototype.setInputs = function (lng, lat) {
    this.lng.value = lng.toFixed(6);
    this.lat.value = lat.toFixed(6);
  };

  Picker.prototype.geolocate = function () {
    var self = this;
    if (!navigator.geolocation) {
      this.say(this.s.noGeolocation);
      return;
    }
    this.say(this.s.locating);
    navigator.geolocation.getCurrentPosition(
      function (position) {
        self.setCrs("wgs84");
        self.setInputs(position.coords.longitude, position.coords.latitude);
        self.say(format(self.s.located, { m: Math.round(position.coords.accuracy || 0) }));
        self.update(true);
      },
      function (error) {
        self.say(format(self.s.geolocationFailed, { reason: error.message || error.code }));
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
    );
  };

  // Place the marker and ask the server which cell the position is in.
  Picker.prototype.update = function (pan) {
    var lng = parseFloat(this.lng.value), lat = parseFloat(this.lat.value);
    if (!isFinite(lng) || !isFinite(lat)) return;
    var crs = this.crs();
    var shown = crs === "gcj02" ? gcjToWgs(lng, lat) : [lng, lat];
    var latlng = L.latLng(shown[1], shown[0]);
    if (this.marker) this.marker.setLatLng(latlng);
    else {
      this.marker = L.circleMarker(latlng, {
        radius: 10, weight: 3, color: "#fff", fillColor: "#1d4e89", fillOpacity: 0.95, interactive: false
      }).addTo(this.map);
    }
    if (pan && !this.map.getBounds().contains(latlng)) this.map.panTo(latlng, { animate: false });
    this.locate(lng, lat, crs);
  };

  Picker.prototype.locate = function (lng, lat, crs) {
    var self = this;
    if (this.request) this.request.abort();
    var controller = new AbortController();
    this.request = controller;
    this.container.removeAttribute("data-cell");
    var url = this.config.locateUrl + "?lng=" + encodeURIComponent(lng) + "&lat=" +
      encodeURIComponent(lat) + "&crs=" + encodeURIComponent(crs);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal: controller.signal })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (result) {
        if (self.request !== controller) return;
        self.request = null;
        if (result.found && result.cell) {
          self.container.setAttribute("data-cell", result.cell.code);
          self.showCell(format(self.s.cellFound, { code: result.cell.code, name: result.cell.name }), "ok");
        } else {
          self.container.setAttribute("data-cell", "");
          self.showCell(self.s.cellMissing, "warning");
        }
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        self.showCell(self.s.cellError, "warning");
      });
  };

  Picker.prototype.showCell = function (text, kind) {
    if (!this.cell) return;
    this.cell.textContent = text;
    this.cell.className = "pick-cell pick-cell--" + kind;
  };

  window.addEventListener("map:init", function (event) {
    var id = event.detail.id;
    if (MAP_IDS.indexOf(id) < 0) return;
    var config = readConfig(id);
    if (!config) return;
    var map = event.detail.map;
    addBasemap(map, config);
    drawCells(map, config);
    drawDisputes(map, config);
    fit(map, config);
    if (config.pick) new Picker(map, config).start();
    map.getContainer().setAttribute("data-state", "ready");
  });
})();
