"""Zone names on the site map: placed clear of every icon, drawn last, with a badge legend."""

from __future__ import annotations

import pytest

from bastion.site.loader import load_site_file
from bastion.web.sitemap import (
    DEVICE_GLYPH,
    SENSOR_LEGEND,
    _overlaps,
    icon_boxes,
    place_labels,
    render_site_svg,
)
from tests.conftest import EXAMPLES


@pytest.mark.parametrize("name", ["dispensary.yaml", "cultivation.yaml"])
def test_no_zone_name_sits_under_an_icon_or_another_name(name):
    site = load_site_file(EXAMPLES / name)
    icons = icon_boxes(site)
    labels = place_labels(site)
    assert len(labels) == sum(1 for z in site.zones if z.area is not None) and icons
    for label in labels:
        hidden = [box for box in icons if _overlaps(label.box, box)]
        assert not hidden, (label.zone.id, label.box, hidden)
        area = label.zone.area
        assert area is not None
        assert area.x <= label.box[0] and label.box[2] <= area.x + area.width, label.zone.id
    for index, label in enumerate(labels):
        for other in labels[index + 1 :]:
            assert not _overlaps(label.box, other.box), (label.zone.id, other.zone.id)


def test_the_names_are_drawn_after_every_icon(dispensary):
    svg = render_site_svg(dispensary, {})
    labels = svg.index('<g class="labels">')
    assert labels > svg.rindex('class="door ') and labels > svg.rindex('class="device ')
    assert labels > svg.rindex('class="camera')
    assert svg.count('class="zone-label"') == len(dispensary.zones)


def test_the_legend_explains_every_sensor_badge():
    assert [glyph for glyph, _ in SENSOR_LEGEND] == list(DEVICE_GLYPH.values())
    assert ("G", "glass-break sensor") in SENSOR_LEGEND and ("P", "panic button") in SENSOR_LEGEND
