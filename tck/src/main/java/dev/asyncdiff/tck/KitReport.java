package dev.asyncdiff.tck;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results of a kit run, as JSON, Markdown or HTML.
 *
 * @param adapter the adapter checked
 * @param model   the model folder
 * @param results one result per check, in order
 */
public record KitReport(String adapter, String model, List<CheckResult> results) {
    private static final String CSS = """
            body{font-family:sans-serif;margin:2em;color:#222}
            table{border-collapse:collapse;margin:0.5em 0 1em}
            th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left;vertical-align:top}
            td.num{text-align:right;font-family:monospace}
            .passed{color:#1a7f37;font-weight:bold}
            .failed{color:#cf222e;font-weight:bold}
            .skipped{color:#9a6700;font-weight:bold}
            figure{margin:0.5em 0}
            """;

    public KitReport {
        results = List.copyOf(results);
    }

    /** Whether no check failed. */
    public boolean passed() {
        return results.stream().noneMatch(r -> r.status() == CheckResult.Status.FAILED);
    }

    /**
     * {@code {"adapter":…,"model":…,"passed":…,"checks":[{"check":…,"status":…,"message":…,"figures":{…},
     * "curves":{"name":[…],…}}]}}. A curve's non-finite values (NaN, ±Infinity) are written as {@code null}, so
     * every curve is an array of numbers or nulls, as JavaScript's {@code JSON.stringify} would write them.
     */
    public String toJson() {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode().put("adapter", adapter).put("model", model).put("passed", passed());
        ArrayNode checks = root.putArray("checks");
        for (CheckResult result : results) {
            ObjectNode check = checks.addObject().put("check", result.check().id())
                    .put("status", status(result)).put("message", result.message());
            check.set("figures", mapper.valueToTree(result.figures()));
            ObjectNode curves = check.putObject("curves");
            result.curves().forEach((name, values) -> {
                ArrayNode array = curves.putArray(name);
                values.forEach(v -> {
                    if (Double.isFinite(v)) {
                        array.add(v);
                    } else {
                        array.addNull();
                    }
                });
            });
        }
        try {
            return mapper.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the kit report as JSON", e);
        }
    }

    /**
     * A Markdown table of the checks followed by each check's figures and, where it measured per-step curves, a chart
     * of them (an SVG image inlined as a data URI) and a table of their values by step.
     */
    public String toMarkdown() {
        StringBuilder md = new StringBuilder();
        md.append("# AsyncDiff compatibility kit: ").append(adapter).append("\n\n");
        md.append("Model: `").append(model).append("` — ").append(passed() ? "**passed**" : "**failed**").append("\n\n");
        md.append("| check | status | message |\n|---|---|---|\n");
        for (CheckResult result : results) {
            md.append("| ").append(result.check().id()).append(" | ").append(status(result))
                    .append(" | ").append(escapeMarkdown(result.message())).append(" |\n");
        }
        for (CheckResult result : results) {
            if (result.figures().isEmpty() && result.curves().isEmpty()) {
                continue;
            }
            md.append("\n## ").append(result.check().id()).append("\n");
            if (!result.figures().isEmpty()) {
                md.append("\n| figure | value |\n|---|---|\n");
                for (Map.Entry<String, Object> figure : result.figures().entrySet()) {
                    md.append("| ").append(escapeMarkdown(figure.getKey())).append(" | ")
                            .append(escapeMarkdown(format(figure.getValue()))).append(" |\n");
                }
            }
            if (!result.curves().isEmpty()) {
                appendMarkdownCurves(md, result);
            }
        }
        return md.toString();
    }

    /**
     * A self-contained HTML5 page (inline CSS, no scripts, nothing loaded from elsewhere): the adapter, the model and
     * the verdict, a table of the checks, then each check's figures and, where it measured per-step curves, an inline
     * SVG chart of them and a table of their values by step. All text is HTML-escaped.
     */
    public String toHtml() {
        String verdict = passed() ? "passed" : "failed";
        StringBuilder html = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.append("<title>AsyncDiff compatibility kit: ").append(h(adapter)).append(" — ").append(verdict)
                .append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        html.append("<h1>AsyncDiff compatibility kit: ").append(h(adapter)).append("</h1>\n");
        html.append("<p>Model: <code>").append(h(model)).append("</code> — <span class=\"").append(verdict).append("\">")
                .append(verdict).append("</span></p>\n");
        html.append("<table>\n<tr><th>check</th><th>status</th><th>message</th></tr>\n");
        for (CheckResult result : results) {
            html.append("<tr><td>").append(h(result.check().id())).append("</td><td class=\"").append(status(result))
                    .append("\">").append(status(result)).append("</td><td>").append(h(result.message()))
                    .append("</td></tr>\n");
        }
        html.append("</table>\n");
        for (CheckResult result : results) {
            if (!result.figures().isEmpty() || !result.curves().isEmpty()) {
                appendHtmlSection(html, result);
            }
        }
        return html.append("</body>\n</html>\n").toString();
    }

    private static void appendHtmlSection(StringBuilder html, CheckResult result) {
        String id = result.check().id();
        html.append("<section id=\"").append(h(id)).append("\">\n<h2>").append(h(id)).append("</h2>\n<p>")
                .append(h(result.check().description())).append("</p>\n");
        if (!result.figures().isEmpty()) {
            html.append("<table>\n<tr><th>figure</th><th>value</th></tr>\n");
            for (Map.Entry<String, Object> figure : result.figures().entrySet()) {
                html.append("<tr><td>").append(h(figure.getKey())).append("</td><td class=\"num\">")
                        .append(h(format(figure.getValue()))).append("</td></tr>\n");
            }
            html.append("</table>\n");
        }
        if (!result.curves().isEmpty()) {
            html.append("<figure>\n").append(new DivergenceChart(result.curves()).toSvg())
                    .append("<figcaption>per-step divergence of ").append(h(id)).append("</figcaption>\n</figure>\n");
            int steps = steps(result.curves());
            html.append("<table>\n<tr><th>curve</th>");
            for (int step = 1; step <= steps; step++) {
                html.append("<th>").append(step).append("</th>");
            }
            html.append("</tr>\n");
            result.curves().forEach((name, values) -> {
                html.append("<tr><th>").append(h(name)).append("</th>");
                for (int i = 0; i < steps; i++) {
                    html.append("<td class=\"num\">").append(i < values.size() ? formatStep(values.get(i)) : "")
                            .append("</td>");
                }
                html.append("</tr>\n");
            });
            html.append("</table>\n");
        }
        html.append("</section>\n");
    }

    private static void appendMarkdownCurves(StringBuilder md, CheckResult result) {
        String id = result.check().id();
        md.append("\n![per-step divergence of ").append(id).append("](")
                .append(new DivergenceChart(result.curves()).toDataUri()).append(")\n\n| curve |");
        int steps = steps(result.curves());
        StringBuilder rule = new StringBuilder("|---|");
        for (int step = 1; step <= steps; step++) {
            md.append(' ').append(step).append(" |");
            rule.append("---|");
        }
        md.append('\n').append(rule).append('\n');
        result.curves().forEach((name, values) -> {
            md.append("| ").append(escapeMarkdown(name)).append(" |");
            for (int i = 0; i < steps; i++) {
                md.append(' ').append(i < values.size() ? formatStep(values.get(i)) : "").append(" |");
            }
            md.append('\n');
        });
    }

    private static int steps(Map<String, List<Double>> curves) {
        return curves.values().stream().mapToInt(List::size).max().orElse(0);
    }

    private static String status(CheckResult result) {
        return result.status().name().toLowerCase(Locale.ROOT);
    }

    private static String format(Object value) {
        return value instanceof Double d ? String.format(Locale.ROOT, "%.6g", d) : String.valueOf(value);
    }

    private static String formatStep(double value) {
        return String.format(Locale.ROOT, "%.3g", value);
    }

    private static String h(String text) {
        return DivergenceChart.escape(text);
    }

    private static String escapeMarkdown(String text) {
        return text == null ? "" : text.replace("|", "\\|").replace("\n", " ");
    }
}
