/* CivicGrid map dashboard: a choropleth of one figure, drill-down by click, an area panel with
 * 同比/环比 and a 12-month trend (Chart.js), clustered case markers and a heat layer.
 *
 * Loaded as a static file (no inline script: a strict CSP forbids it). The page passes its
 * configuration in <script type="application/json" id="dashboard-config">; django-leaflet creates
 * the map and fires `map:init`, where this file takes over. Every layer is GeoJSON from the
 * dashboard API.
 *
 * The map container carries data-state (loading|ready|error|empty), data-level, data-figure,
 * data-parent, data-period, data-boundaries and data-features; the panel carries data-state and
 * data-code, so tests and other scripts can wait for them.
 */
(function () {
  "use strict";

  var MAP_ID = "dashmap";
  var PANE = "choropleth";
  var LEVEL_LENGTH = { district: 6, street: 9, community: 12, cell: 15 };
  var OUTLINE = { color: "#4d4d4d", weight: 1, opacity: 0.9, fillOpacity: 0.75 };
  var HIGHLIGHT = { weight: 3, color: "#1d4e89" };
  var SELECTED = { weight: 3, color: "#111111" };

  function readConfig() {
    var element = document.getElementById("dashboard-config");
    return element ? JSON.parse(element.textContent) : null;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (value === null || value === undefined || value === "") return;
      parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  function getJSON(url, controller) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/geo+json, application/json" },
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  function percent(fraction) {
    var value = (fraction * 100).toFixed(1);
    return (fraction > 0 ? "+" : "") + value + "%";
  }

  function Dashboard(map, config) {
    this.map = map;
    this.config = config;
    this.s = config.strings;
    this.container = map.getContainer();
    this.status = document.getElementById("dash-status");
    this.panel = document.getElementById("dash-panel");
    this.figures = {};
    var self = this;
    config.figures.forEach(function (f) { self.figures[f.key] = f; });
    var initial = config.initial;
    this.figure = initial.figure;
    this.period = initial.period;
    this.level = initial.level;
    this.boundaries = initial.boundaries;
    this.parent = null; // the area whose children the map shows (null: the user's scope)
    this.trail = []; // [{code, name, level}] from the outermost drilled area down to `parent`
    this.selected = null; // the area shown in the panel
    this.layer = null;
    this.request = null;
    this.panelRequest = null;
    this.chart = null;
    this.markers = null;
    this.heat = null;
    this.pointsRequest = null;
  }

  Dashboard.prototype.start = function () {
    // The choropleth has its own pane under the overlay pane, so case markers and the heat
    // layer stay on top of it whenever it is redrawn.
    this.map.createPane(PANE).style.zIndex = 350;
    this.addBasemap();
    this.addLegend();
    this.bindControls();
    var e = this.config.extent;
    if (e) this.map.fitBounds([[e[1], e[0]], [e[3], e[2]]], { animate: false });
    this.renderBreadcrumb();
    this.loadChoropleth(false);
    var roots = this.config.roots;
    if (roots.length === 1) this.loadPanel(roots[0].code);
  };

  Dashboard.prototype.addBasemap = function () {
    var map = this.map;
    var layers = this.config.basemap || [];
    if (!layers.length) {
      L.DomUtil.addClass(this.container, "dashmap--plain");
      return;
    }
    layers.forEach(function (layer) { L.tileLayer(layer.url, layer.options).addTo(map); });
  };

  // --- controls ---------------------------------------------------------------------------

  Dashboard.prototype.bindControls = function () {
    var self = this;
    var form = document.getElementById("dash-controls");
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    var figure = document.getElementById("dash-figure");
    figure.value = this.figure;
    figure.addEventListener("change", function () {
      self.figure = figure.value;
      self.refresh();
    });
    var period = document.getElementById("dash-period");
    period.value = this.period;
    period.addEventListener("change", function () {
      if (!period.value) return;
      self.period = period.value;
      self.refresh();
    });
    var levels = document.querySelectorAll("#dash-levels input[name=level]");
    Array.prototype.forEach.call(levels, function (input) {
      input.checked = input.value === self.level;
      input.addEventListener("change", function () {
        if (!input.checked) return;
        self.setLevel(input.value);
      });
    });
    var today = document.getElementById("dash-today");
    today.checked = this.boundaries === "today";
    today.addEventListener("change", function () {
      self.boundaries = today.checked ? "today" : "recorded";
      self.applyBoundaries();
      self.refresh();
    });
    document.getElementById("dash-markers").addEventListener("change", function (event) {
      self.toggleMarkers(event.target.checked);
    });
    document.getElementById("dash-heat").addEventListener("change", function (event) {
      self.toggleHeat(event.target.checked);
    });
    this.applyBoundaries();
  };

  // On today's boundaries only figures whose records carry a location can be shown.
  Dashboard.prototype.applyBoundaries = function () {
    var today = this.boundaries === "today";
    var select = document.getElementById("dash-figure");
    var self = this;
    Array.prototype.forEach.call(select.options, function (option) {
      option.disabled = today && !self.figures[option.value].today;
    });
    if (today && !this.figures[this.figure].today) {
      this.figure = "petitions_total";
      select.value = this.figure;
    }
    var note = document.getElementById("dash-today-note");
    note.textContent = this.s.todayNote;
    note.hidden = !today;
  };

  Dashboard.prototype.setLevel = function (level) {
    this.level = level;
    // A level at or above the drilled area starts again from the user's whole scope.
    if (this.parent && LEVEL_LENGTH[level] <= this.parent.length) {
      this.parent = null;
      this.trail = [];
    }
    this.renderBreadcrumb();
    this.loadChoropleth(true);
    this.reloadPoints();
  };

  Dashboard.prototype.syncLevelInputs = function () {
    var self = this;
    var inputs = document.querySelectorAll("#dash-levels input[name=level]");
    Array.prototype.forEach.call(inputs, function (input) {
      input.checked = input.value === self.level;
    });
  };

  Dashboard.prototype.refresh = function () {
    this.loadChoropleth(false);
    if (this.selected) this.loadPanel(this.selected);
    this.reloadPoints();
  };

  // --- drill-down and breadcrumb ------------------------------------------------------------

  Dashboard.prototype.drill = function (properties) {
    var next = properties.child_level;
    if (!next || this.config.levels.indexOf(next) < 0) {
      this.loadPanel(properties.code);
      return;
    }
    this.trail.push({ code: properties.code, name: properties.name, level: properties.level });
    this.parent = properties.code;
    this.level = next;
    this.syncLevelInputs();
    this.renderBreadcrumb();
    this.loadChoropleth(true);
    this.loadPanel(properties.code);
    this.reloadPoints();
  };

  Dashboard.prototype.goTo = function (index) {
    // index -1: the user's whole scope; otherwise the trail entry to show the children of.
    if (index < 0) {
      this.trail = [];
      this.parent = null;
      this.level = this.config.initial.level;
      var roots = this.config.roots;
      if (roots.length === 1) this.loadPanel(roots[0].code);
    } else {
      var crumb = this.trail[index];
      this.trail = this.trail.slice(0, index + 1);
      this.parent = crumb.code;
      var order = ["district", "street", "community", "cell"];
      this.level = order[order.indexOf(crumb.level) + 1];
      this.loadPanel(crumb.code);
    }
    this.syncLevelInputs();
    this.renderBreadcrumb();
    this.loadChoropleth(true);
    this.reloadPoints();
  };

  Dashboard.prototype.renderBreadcrumb = function () {
    var list = document.querySelector("#dash-breadcrumb ol");
    if (!list) return;
    list.textContent = "";
    var self = this;
    var roots = this.config.roots;
    var rootLabel = roots.length === 1 ? roots[0].name : this.s.all;
    var items = [{ label: rootLabel, index: -1 }];
    this.trail.forEach(function (crumb, i) {
      items.push({ label: crumb.name, index: i, code: crumb.code });
    });
    items.forEach(function (item, i) {
      var li = el("li");
      if (i === items.length - 1) {
        var current = el("span", "dash-breadcrumb__current", item.label);
        current.setAttribute("aria-current", "page");
        li.appendChild(current);
      } else {
        var link = el("a", null, item.label);
        link.href = "#";
        link.addEventListener("click", function (event) {
          event.preventDefault();
          self.goTo(item.index);
        });
        li.appendChild(link);
      }
      if (item.code) li.setAttribute("data-code", item.code);
      list.appendChild(li);
    });
  };

  // --- choropleth ---------------------------------------------------------------------------

  Dashboard.prototype.setState = function (state, count) {
    var c = this.container;
    c.setAttribute("data-state", state);
    c.setAttribute("data-level", this.level);
    c.setAttribute("data-figure", this.figure);
    c.setAttribute("data-period", this.period);
    c.setAttribute("data-boundaries", this.boundaries);
    c.setAttribute("data-parent", this.parent || "");
    if (count !== undefined) c.setAttribute("data-features", String(count));
    if (!this.status) return;
    var s = this.s;
    if (state === "loading") this.status.textContent = s.loading;
    else if (state === "error") this.status.textContent = s.error;
    else if (state === "empty") this.status.textContent = s.empty;
    else if (state === "ready") this.status.textContent = s.loaded.replace("%(n)s", count);
  };

  Dashboard.prototype.choroplethUrl = function () {
    return this.config.urls.choropleth + query({
      figure: this.figure,
      period: this.period,
      level: this.level,
      parent: this.parent,
      boundaries: this.boundaries
    });
  };

  Dashboard.prototype.loadChoropleth = function (fit) {
    if (this.request) this.request.abort();
    var controller = new AbortController();
    this.request = controller;
    var self = this;
    this.setState("loading");
    getJSON(this.choroplethUrl(), controller)
      .then(function (collection) {
        if (self.request !== controller) return;
        self.request = null;
        self.draw(collection, fit);
        var n = (collection.features || []).length;
        self.setState(n ? "ready" : "empty", n);
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        if (self.request === controller) self.request = null;
        self.setState("error");
        if (window.console) console.error("dashboard:", error);
      });
  };

  Dashboard.prototype.featureStyle = function (legend, properties) {
    var cls = properties["class"];
    var fill = cls === null || cls === undefined ? this.config.noDataColor : legend.classes[cls].color;
    var style = L.extend({}, OUTLINE, { fillColor: fill });
    if (properties.code === this.selected) L.extend(style, SELECTED);
    return style;
  };

  Dashboard.prototype.tooltip = function (properties, figure) {
    var node = el("div", "dash-tooltip");
    node.appendChild(el("strong", null, properties.name));
    var unit = properties.value === null ? "" : " " + figure.unit;
    node.appendChild(el("div", null, figure.label + "：" + properties.display + unit));
    if (figure.kind !== "count") {
      node.appendChild(el("div", "dash-tooltip__parts",
        this.s.numerator + " " + properties.numerator + " / " + this.s.denominator + " " +
        properties.denominator));
    }
    if (properties.child_level && this.config.levels.indexOf(properties.child_level) >= 0) {
      node.appendChild(el("div", "dash-tooltip__hint", this.s.drill));
    }
    return node;
  };

  Dashboard.prototype.draw = function (collection, fit) {
    var self = this;
    var legend = collection.legend;
    var figure = collection.figure;
    this.collection = collection;
    var layer = L.geoJSON(collection, {
      pane: PANE,
      style: function (feature) { return self.featureStyle(legend, feature.properties); },
      onEachFeature: function (feature, featureLayer) {
        var p = feature.properties;
        featureLayer.bindTooltip(self.tooltip(p, figure), { sticky: true });
        featureLayer.on({
          mouseover: function () {
            featureLayer.setStyle(HIGHLIGHT);
            featureLayer.bringToFront();
          },
          mouseout: function () { featureLayer.setStyle(self.featureStyle(legend, p)); },
          click: function () {
            featureLayer.closeTooltip();
            self.drill(p);
          }
        });
      }
    });
    if (this.layer) this.map.removeLayer(this.layer);
    this.layer = layer.addTo(this.map);
    if (fit && collection.features && collection.features.length) {
      this.map.fitBounds(layer.getBounds(), { animate: false, padding: [10, 10] });
    }
    this.renderLegend(collection);
  };

  // --- legend -------------------------------------------------------------------------------

  Dashboard.prototype.addLegend = function () {
    var self = this;
    var Legend = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        var box = L.DomUtil.create("div", "dash-legend");
        box.id = "dash-legend";
        L.DomEvent.disableClickPropagation(box);
        self.legendBox = box;
        return box;
      }
    });
    new Legend().addTo(this.map);
  };

  Dashboard.prototype.renderLegend = function (collection) {
    var box = this.legendBox;
    if (!box) return;
    box.textContent = "";
    var legend = collection.legend;
    var figure = collection.figure;
    box.appendChild(el("div", "dash-legend__title", figure.label + "（" + figure.unit + "）"));
    box.appendChild(el("div", "dash-legend__meta",
      collection.period.label + " · " + legend.method_label));
    var list = el("ul", "dash-legend__classes");
    var rows = legend.classes.slice();
    if (legend.no_data.count) rows.push(legend.no_data);
    rows.forEach(function (row) {
      var item = el("li");
      var swatch = el("span", "dash-legend__swatch");
      swatch.style.backgroundColor = row.color; // CSSOM, allowed by the CSP (no style attribute)
      item.appendChild(swatch);
      item.appendChild(el("span", "dash-legend__label", row.label));
      item.appendChild(el("span", "dash-legend__count", "(" + row.count + ")"));
      list.appendChild(item);
    });
    box.appendChild(list);
    box.setAttribute("data-classes", String(legend.classes.length));
  };

  // --- area panel ---------------------------------------------------------------------------

  Dashboard.prototype.loadPanel = function (code) {
    if (this.panelRequest) this.panelRequest.abort();
    var controller = new AbortController();
    this.panelRequest = controller;
    this.selected = code;
    this.restyle();
    var self = this;
    var url = this.config.urls.area.replace("000000", encodeURIComponent(code)) + query({
      figure: this.figure,
      period: this.period,
      boundaries: this.boundaries
    });
    this.panel.setAttribute("data-state", "loading");
    getJSON(url, controller)
      .then(function (data) {
        if (self.panelRequest !== controller) return;
        self.panelRequest = null;
        self.renderPanel(data);
        self.panel.setAttribute("data-code", data.code);
        self.panel.setAttribute("data-boundaries", data.boundaries);
        self.panel.setAttribute("data-state", "ready");
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        self.panel.setAttribute("data-state", "error");
        if (window.console) console.error("dashboard panel:", error);
      });
  };

  Dashboard.prototype.restyle = function () {
    if (!this.layer || !this.collection) return;
    var self = this;
    var legend = this.collection.legend;
    this.layer.eachLayer(function (featureLayer) {
      featureLayer.setStyle(self.featureStyle(legend, featureLayer.feature.properties));
    });
  };

  function link(text, href, title) {
    if (!href) return el("span", null, text);
    var a = el("a", null, text);
    a.href = href;
    if (title) a.title = title;
    return a;
  }

  Dashboard.prototype.changeCell = function (fraction, label) {
    var td = el("td", "dash-change");
    if (fraction === null || fraction === undefined) {
      td.textContent = this.s.noData;
      return td;
    }
    var dir = fraction > 0 ? "up" : fraction < 0 ? "down" : "flat";
    var arrow = dir === "up" ? "▲" : dir === "down" ? "▼" : "■";
    td.className += " dash-change--" + dir;
    td.title = label + " " + this.s[dir];
    td.appendChild(el("span", "dash-change__arrow", arrow));
    td.appendChild(document.createTextNode(" " + percent(fraction)));
    return td;
  };

  Dashboard.prototype.valueCell = function (row) {
    var s = this.s;
    var td = el("td", "dash-value");
    var links = row.links || {};
    var unit = row.value === null ? "" : " " + row.unit;
    if (row.kind === "count") {
      td.appendChild(link(row.display, links.numerator, s.records));
      td.appendChild(document.createTextNode(unit));
      return td;
    }
    td.appendChild(el("span", "dash-value__rate", row.display + unit));
    var parts = el("div", "dash-value__parts");
    parts.appendChild(link(String(row.numerator), links.numerator, s.numerator + " · " + s.records));
    parts.appendChild(document.createTextNode(" / "));
    if (links.denominator || !Object.keys(links).length) {
      parts.appendChild(link(String(row.denominator), links.denominator,
        s.denominator + " · " + s.records));
    } else {
      // A denominator over several record types (重复率: new cases + repeats): one link per type.
      parts.appendChild(el("span", null, String(row.denominator)));
      var more = el("span", "dash-value__more", " " + s.denominatorParts);
      Object.keys(links).forEach(function (part) {
        if (part.indexOf("denominator.") !== 0) return;
        var family = part.slice("denominator.".length);
        more.appendChild(link(s[family] || family, links[part], s.records));
        more.appendChild(document.createTextNode(" "));
      });
      parts.appendChild(more);
    }
    td.appendChild(parts);
    return td;
  };

  Dashboard.prototype.renderPanel = function (data) {
    var s = this.s;
    document.getElementById("dash-panel-title").textContent = data.name;
    var crumbs = data.breadcrumb.map(function (c) { return c.name; }).join(" › ");
    document.getElementById("dash-panel-meta").textContent =
      data.code + " · " + data.period.label + (crumbs ? " · " + crumbs : "");
    var body = document.querySelector("#dash-figures tbody");
    body.textContent = "";
    var self = this;
    data.figures.forEach(function (row) {
      var tr = el("tr");
      tr.setAttribute("data-figure", row.key);
      if (row.key === self.figure) tr.className = "is-current";
      var th = el("th", null, row.label);
      th.scope = "row";
      th.title = row.description;
      tr.appendChild(th);
      tr.appendChild(self.valueCell(row));
      tr.appendChild(self.changeCell(row.mom, s.mom + "（" + s.previous + " " + row.previous + "）"));
      tr.appendChild(self.changeCell(row.yoy, s.yoy + "（" + s.lastYear + " " + row.last_year + "）"));
      body.appendChild(tr);
    });
    this.renderTrend(data.trend);
  };

  Dashboard.prototype.renderTrend = function (trend) {
    var canvas = document.getElementById("dash-trend");
    if (!canvas || typeof window.Chart === "undefined") return;
    var title = document.getElementById("dash-trend-title");
    title.textContent = this.s.trendTitle + " · " + trend.figure.label + "（" + trend.figure.unit + "）";
    var data = {
      labels: trend.labels,
      datasets: [{
        label: trend.figure.label,
        data: trend.values,
        borderColor: "#8c1c13",
        backgroundColor: "rgba(140, 28, 19, 0.15)",
        fill: true,
        spanGaps: false,
        tension: 0.2,
        pointRadius: 3
      }]
    };
    if (this.chart) {
      this.chart.data = data;
      this.chart.update("none");
      return;
    }
    this.chart = new window.Chart(canvas, {
      type: "line",
      data: data,
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true } }
      }
    });
  };

  // --- case markers and heat ----------------------------------------------------------------

  Dashboard.prototype.pointsUrl = function (base) {
    return base + query({
      period: this.period,
      kind: this.config.markerKinds[this.figure],
      area: this.parent
    });
  };

  Dashboard.prototype.toggleMarkers = function (on) {
    if (!on) {
      if (this.markers) this.map.removeLayer(this.markers);
      this.markers = null;
      return;
    }
    this.markers = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 });
    this.markers.addTo(this.map);
    this.loadMarkers();
  };

  Dashboard.prototype.toggleHeat = function (on) {
    if (!on) {
      if (this.heat) this.map.removeLayer(this.heat);
      this.heat = null;
      return;
    }
    this.heat = L.heatLayer([], { radius: 22, blur: 18, maxZoom: 17 });
    this.heat.addTo(this.map);
    this.loadHeat();
  };

  Dashboard.prototype.reloadPoints = function () {
    if (this.markers) this.loadMarkers();
    if (this.heat) this.loadHeat();
  };

  Dashboard.prototype.loadMarkers = function () {
    var self = this;
    var group = this.markers;
    // Only the latest request may fill the group (an earlier one may answer later).
    var token = {};
    this.markersToken = token;
    group.clearLayers();
    this.container.setAttribute("data-markers", "loading");
    getJSON(this.pointsUrl(this.config.urls.markers))
      .then(function (collection) {
        if (self.markers !== group || self.markersToken !== token) return;
        var s = self.s;
        var kindLabel = collection.kind === "disputes" ? s.dispute : s.petition;
        var layers = (collection.features || []).map(function (feature) {
          var c = feature.geometry.coordinates;
          var p = feature.properties;
          var marker = L.circleMarker([c[1], c[0]], {
            radius: 6, color: "#1d4e89", weight: 2, fillColor: "#4f86c6", fillOpacity: 0.9
          });
          var node = el("div", "dash-marker");
          node.appendChild(el("strong", null, kindLabel + " " + p.label));
          node.appendChild(el("div", null, p.status_label));
          marker.bindPopup(node);
          return marker;
        });
        group.addLayers(layers);
        self.container.setAttribute("data-markers", String(layers.length));
        if (collection.truncated && self.status) {
          self.status.textContent = s.markersTruncated.replace("%(n)s", layers.length);
        }
      })
      .catch(function (error) {
        self.container.setAttribute("data-markers", "error");
        if (window.console) console.error("dashboard markers:", error);
      });
  };

  Dashboard.prototype.loadHeat = function () {
    var self = this;
    var heat = this.heat;
    var token = {};
    this.heatToken = token;
    this.container.setAttribute("data-heat", "loading");
    getJSON(this.pointsUrl(this.config.urls.heat))
      .then(function (collection) {
        if (self.heat !== heat || self.heatToken !== token) return;
        var points = (collection.features || []).map(function (feature) {
          var c = feature.geometry.coordinates;
          return [c[1], c[0], 1];
        });
        heat.setLatLngs(points);
        self.container.setAttribute("data-heat", String(points.length));
      })
      .catch(function (error) {
        self.container.setAttribute("data-heat", "error");
        if (window.console) console.error("dashboard heat:", error);
      });
  };

  window.addEventListener("map:init", function (event) {
    if (event.detail.id !== MAP_ID) return;
    var config = readConfig();
    if (!config) return;
    new Dashboard(event.detail.map, config).start();
  });
})();
