/** Widgets: the kernel-side ipywidgets runtime, standard controls, LivePlot, TrialTable, ExperimentView, Quiz. */
export { Widget, liveWidgets, ensureControlTarget, WIDGET_VIEW_MIME, PROTOCOL_VERSION, DISPLAY_ID, type WidgetOptions } from "./widget";
export { Layout, Style, IntProgress, HTML, Button, Dropdown, RadioButtons, IntSlider, FloatSlider, VBox, HBox, Tab, Output, type ControlOptions } from "./controls";
export { LivePlot, ANYWIDGET_VERSION, type LivePlotOptions } from "./live-plot";
export { TrialTable, type TrialRowData, type TrialTableOptions } from "./trial-table";
export { ExperimentView, showExperiment, type ExperimentViewOptions } from "./experiment-view";
export { Quiz, quiz, hashAnswer, checkAnswer, type QuizQuestion } from "./quiz";
export { widgetFrontend, waitForWidgetFrontend, type WidgetFrontend } from "./frontend-info";
