/* CivicGrid map page: boundary layers of the active generation on a django-leaflet map.
 *
 * Loaded as a static file (no inline script, so a strict CSP can forbid inline code). The view
 * passes its configuration in <script type="application/json" id="gridmap-config">; django-leaflet
 * creates the map and fires `map:init`, which is where this file takes over.
 *
 * The map container carries data-level, data-state (loading|ready|error|empty) and data-features
 * once a layer has drawn, so tests and other scripts can wait for it.
 */
(function () {
  "use strict";

  var MAP_ID = "gridmap";

  var STYLES = {
    street: { color: "#1d4e89", weight: 3, opacity: 0.9, fillColor: "#4f86c6", fillOpacity: 0.08 },
    community: { color: "#2a7f62", weight: 2, opacity: 0.9, fillColor: "#5bb38f", fillOpacity: 0.08 },
    cell: { color: "#b5542c", weight: 1, opacity: 0.9, fillColor: "#e39b6f", fillOpacity: 0.1 }
  };
  var HIGHLIGHT = { weight: 4, color: "#d62828", fillOpacity: 0.3 };

  function readConfig() {
    var element = document.getElementById("gridmap-config");
    return element ? JSON.parse(element.textContent) : null;
  }

  function text(value, fallback) {
    return value === null || value === undefined || value === "" ? fallback : String(value);
  }

  function formatNumber(value, fallback) {
    if (value === null || value === undefined) return fallback;
    return Number(value).toLocaleString();
  }

  // Feature properties come from uploaded boundary files: build DOM nodes, never HTML strings.
  function detailsTable(properties, config) {
    var s = config.strings;
    var dash = s.unknown;
    var rows = [
      [s.code, text(properties.code, dash)],
      [s.name, text(properties.name, dash)],
      [s.parent, properties.parent_code
        ? properties.parent_code + " " + text(properties.parent_name, "") : dash]
    ];
    if (properties.level === "cell" || properties.households !== undefined) {
      rows.push([s.households, formatNumber(properties.households, dash)]);
      rows.push([s.residents, formatNumber(properties.residents, dash)]);
    }
    if (properties.area_m2) {
      rows.push([s.area, (properties.area_m2 / 1e6).toFixed(2) + " " + s.km2]);
    }
    var table = document.createElement("table");
    table.className = "gridmap-details";
    rows.forEach(function (row) {
      var tr = table.insertRow();
      var th = document.createElement("th");
      th.textContent = row[0];
      tr.appendChild(th);
      tr.insertCell().textContent = row[1];
    });
    return table;
  }

  function tooltipNode(properties) {
    var node = document.createElement("span");
    var code = document.createElement("strong");
    code.textContent = text(properties.code, "");
    node.appendChild(code);
    node.appendChild(document.createTextNode(" " + text(properties.name, "")));
    return node;
  }

  function GridMap(map, config) {
    this.map = map;
    this.config = config;
    this.container = map.getContainer();
    this.status = document.getElementById("gridmap-status");
    this.level = config.initialLevel;
    this.layer = null;
    this.request = null;
    this.fetched = null; // {level, zoom, bounds} of the layer on the map
    this.popup = L.popup({ maxWidth: 320 });
  }

  GridMap.prototype.start = function () {
    var self = this;
    this.addBasemap();
    this.bindLevelSwitch();
    if (!this.config.hasGeneration) {
      this.setState("empty");
      return;
    }
    var e = this.config.extent;
    if (e) this.map.fitBounds([[e[1], e[0]], [e[3], e[2]]], { animate: false });
    this.map.on("moveend", function () { self.load(false); });
    this.load(true);
  };

  GridMap.prototype.addBasemap = function () {
    var map = this.map;
    var layers = this.config.basemap || [];
    if (!layers.length) {
      L.DomUtil.addClass(this.container, "gridmap--plain");
      return;
    }
    layers.forEach(function (layer) {
      L.tileLayer(layer.url, layer.options).addTo(map);
    });
  };

  GridMap.prototype.bindLevelSwitch = function () {
    var self = this;
    var inputs = document.querySelectorAll("#gridmap-levels input[name=level]");
    Array.prototype.forEach.call(inputs, function (input) {
      input.checked = input.value === self.level;
      input.addEventListener("change", function () {
        if (!input.checked) return;
        self.level = input.value;
        self.map.closePopup();
        self.load(true);
      });
    });
  };

  GridMap.prototype.setState = function (state, count) {
    var s = this.config.strings;
    this.container.setAttribute("data-level", this.level);
    this.container.setAttribute("data-state", state);
    if (count !== undefined) this.container.setAttribute("data-features", String(count));
    if (!this.status) return;
    if (state === "loading") this.status.textContent = s.loading;
    else if (state === "error") this.status.textContent = s.error;
    else if (state === "ready") this.status.textContent = s.loaded.replace("%(n)s", count);
    else this.status.textContent = "";
  };

  // Fetch the current level for the visible area; a pan inside what was already fetched at the
  // same zoom needs no new request (the server simplifies by zoom, so a zoom change does).
  GridMap.prototype.load = function (force) {
    var map = this.map;
    var zoom = map.getZoom();
    var view = map.getBounds();
    var last = this.fetched;
    if (!force && last && last.level === this.level && last.zoom === zoom &&
        last.bounds.contains(view)) {
      return;
    }
    var bounds = view.pad(0.25);
    var url = this.config.layerUrl.replace("LEVEL", encodeURIComponent(this.level)) + "?bbox=" +
      [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
        .map(function (n) { return n.toFixed(6); }).join(",") + "&zoom=" + zoom;
    if (this.request) this.request.abort();
    var controller = new AbortController();
    this.request = controller;
    var self = this;
    var level = this.level;
    this.setState("loading");
    fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/geo+json, application/json" },
      signal: controller.signal
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (collection) {
        if (self.request !== controller) return;
        self.request = null;
        self.draw(collection, level);
        self.fetched = { level: level, zoom: zoom, bounds: bounds };
        self.setState("ready", (collection.features || []).length);
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        if (self.request === controller) self.request = null;
        self.setState("error");
        if (window.console) console.error("gridmap:", error);
      });
  };

  GridMap.prototype.draw = function (collection, level) {
    var self = this;
    var style = STYLES[level] || STYLES.cell;
    var layer = L.geoJSON(collection, {
      style: function () { return style; },
      onEachFeature: function (feature, featureLayer) {
        featureLayer.bindTooltip(tooltipNode(feature.properties || {}), { sticky: true });
        featureLayer.on({
          mouseover: function () {
            featureLayer.setStyle(HIGHLIGHT);
            featureLayer.bringToFront();
          },
          mouseout: function () { layer.resetStyle(featureLayer); },
          // A map-level popup survives the layer being replaced by a refetch after autopan.
          click: function (event) {
            featureLayer.closeTooltip();
            self.popup
              .setLatLng(event.latlng)
              .setContent(detailsTable(feature.properties || {}, self.config))
              .openOn(self.map);
          }
        });
      }
    });
    if (this.layer) this.map.removeLayer(this.layer);
    this.layer = layer.addTo(this.map);
  };

  window.addEventListener("map:init", function (event) {
    if (event.detail.id !== MAP_ID) return;
    var config = readConfig();
    if (!config) return;
    new GridMap(event.detail.map, config).start();
  });
})();
