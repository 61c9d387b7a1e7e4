"""Plot chart nodes from table nodes: the charts Slicer's Plots module shows (and saves with the scene)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PlotSeries", "add_plot_chart"]

_TYPES = {"scatter": "PlotTypeScatter", "bar": "PlotTypeBar", "line": "PlotTypeLine"}
_MARKERS = {"circle": "MarkerStyleCircle", "cross": "MarkerStyleCross", "square": "MarkerStyleSquare",
            "none": "MarkerStyleNone"}
_LINES = {"solid": "LineStyleSolid", "dash": "LineStyleDash", "dot": "LineStyleDot", "none": "LineStyleNone"}


@dataclass(frozen=True)
class PlotSeries:
    """One series of a chart: columns of a table node drawn as scatter points, bars or a line.

    ``label_column`` names a string column whose values label the points (bar categories).
    """

    name: str
    table_node: object
    x_column: str
    y_column: str
    kind: str = "scatter"
    color: tuple[float, float, float] = (0.30, 0.45, 0.69)
    marker: str = "circle"
    line: str = "none"
    label_column: str | None = None


def add_plot_chart(scene, name: str, series: list[PlotSeries], *, title: str = "", x_title: str = "",
                   y_title: str = ""):
    """Add a ``vtkMRMLPlotChartNode`` showing ``series`` (each becomes a ``vtkMRMLPlotSeriesNode``)."""
    import slicer

    chart = scene.AddNewNodeByClass("vtkMRMLPlotChartNode", name)
    for spec in series:
        node = scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", f"{name}: {spec.name}")
        node.SetAndObserveTableNodeID(spec.table_node.GetID())
        node.SetXColumnName(spec.x_column)
        node.SetYColumnName(spec.y_column)
        if spec.label_column:
            node.SetLabelColumnName(spec.label_column)
        node.SetPlotType(getattr(slicer.vtkMRMLPlotSeriesNode, _TYPES[spec.kind]))
        node.SetMarkerStyle(getattr(slicer.vtkMRMLPlotSeriesNode, _MARKERS[spec.marker]))
        node.SetLineStyle(getattr(slicer.vtkMRMLPlotSeriesNode, _LINES[spec.line]))
        node.SetColor(*spec.color)
        chart.AddAndObservePlotSeriesNodeID(node.GetID())
    chart.SetTitle(title or name)
    chart.SetXAxisTitle(x_title)
    chart.SetYAxisTitle(y_title)
    return chart
