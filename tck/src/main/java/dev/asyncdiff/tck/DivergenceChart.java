package dev.asyncdiff.tck;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * A small, self-contained SVG line chart of named per-step curves: x is the step (1..n), y the value on a linear
 * scale from 0 to the largest value. Non-finite points are left out of their line; when every value is zero the
 * lines lie flat on the x axis. The output depends only on the curves, so equal inputs give equal bytes.
 */
final class DivergenceChart {
    private static final int WIDTH = 640;
    private static final int PLOT_HEIGHT = 240;
    private static final int LEGEND_ROW = 18;
    private static final int LEFT = 64;
    private static final int RIGHT = 16;
    private static final int TOP = 12;
    private static final int BOTTOM = 40;
    private static final int Y_TICKS = 4;
    private static final int MAX_X_TICKS = 6;
    private static final String[] PALETTE = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

    private final Map<String, List<Double>> curves;
    private final int steps;
    private final double low;
    private final double high;

    /** @param curves the values after each step, by name, in legend order */
    DivergenceChart(Map<String, List<Double>> curves) {
        this.curves = new LinkedHashMap<>(curves);
        this.steps = this.curves.values().stream().mapToInt(List::size).max().orElse(0);
        double min = 0;
        double max = 0;
        for (List<Double> values : this.curves.values()) {
            for (double v : values) {
                if (Double.isFinite(v)) {
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
        }
        this.low = min;
        // An all-zero chart still needs a non-empty range to scale by; its lines then sit at 0.
        this.high = max > min ? max : min + 1;
    }

    /** The chart as an SVG document (no XML declaration, so it can also be inlined in HTML). */
    String toSvg() {
        int height = PLOT_HEIGHT + LEGEND_ROW * curves.size() + 8;
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">%n", WIDTH, height, WIDTH, height));
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>%n", WIDTH, height));
        appendAxes(svg);
        int index = 0;
        for (List<Double> values : curves.values()) {
            appendLine(svg, values, PALETTE[index++ % PALETTE.length]);
        }
        appendLegend(svg);
        return svg.append("</svg>\n").toString();
    }

    /** The chart as a {@code data:image/svg+xml;base64,…} URI, e.g. for a Markdown image. */
    String toDataUri() {
        return "data:image/svg+xml;base64,"
                + Base64.getEncoder().encodeToString(toSvg().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * {@code text} with {@code & < > " '} replaced by entities, and characters XML 1.0 does not allow replaced by
     * U+FFFD, so the result is safe in XML and HTML text and attribute values. {@code null} becomes "".
     */
    static String escape(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(text.length());
        text.codePoints().forEach(c -> {
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.appendCodePoint(allowedInXml(c) ? c : 0xFFFD);
            }
        });
        return out.toString();
    }

    private static boolean allowedInXml(int c) {
        return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD)
                || (c >= 0x10000 && c <= 0x10FFFF);
    }

    private void appendAxes(StringBuilder svg) {
        double bottom = y(low);
        double right = WIDTH - RIGHT;
        for (int k = 0; k <= Y_TICKS; k++) {
            double value = low + (high - low) * k / Y_TICKS;
            double y = y(value);
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                    LEFT, y, right, y, LEFT - 4, y + 4, String.format(Locale.ROOT, "%.3g", value)));
        }
        for (int step : xTicks()) {
            double x = x(step);
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>"
                    + "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>%n",
                    x, bottom, x, bottom + 4, x, bottom + 16, step));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">step</text>%n",
                (LEFT + right) / 2, bottom + 32));
        // After the grid, so the light grid line at 0 does not cover the x axis.
        svg.append(String.format(Locale.ROOT, "<g stroke=\"#333333\" stroke-width=\"1\">"
                + "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\"/>"
                + "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/></g>%n",
                LEFT, TOP, LEFT, bottom, LEFT, bottom, right, bottom));
    }

    /** Up to {@link #MAX_X_TICKS} steps, evenly spread, always including the first and the last. */
    private List<Integer> xTicks() {
        TreeSet<Integer> ticks = new TreeSet<>();
        int intervals = Math.min(MAX_X_TICKS - 1, Math.max(steps - 1, 0));
        for (int k = 0; k <= intervals && steps > 0; k++) {
            ticks.add(1 + (int) Math.round((double) k * (steps - 1) / Math.max(intervals, 1)));
        }
        return new ArrayList<>(ticks);
    }

    private void appendLine(StringBuilder svg, List<Double> values, String colour) {
        StringBuilder points = new StringBuilder();
        for (int i = 0; i < values.size(); i++) {
            double v = values.get(i);
            if (Double.isFinite(v)) {
                if (points.length() > 0) {
                    points.append(' ');
                }
                points.append(String.format(Locale.ROOT, "%.1f,%.1f", x(i + 1), y(v)));
            }
        }
        svg.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>%n",
                colour, points));
    }

    private void appendLegend(StringBuilder svg) {
        int index = 0;
        for (String name : curves.keySet()) {
            double y = PLOT_HEIGHT + LEGEND_ROW * index + 12;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\""
                    + " stroke-width=\"3\"/><text x=\"%d\" y=\"%.1f\">%s</text>%n",
                    LEFT, y - 4, LEFT + 20, y - 4, PALETTE[index % PALETTE.length], LEFT + 26, y, escape(name)));
            index++;
        }
    }

    private double x(int step) {
        double width = WIDTH - LEFT - RIGHT;
        return steps <= 1 ? LEFT + width / 2 : LEFT + width * (step - 1) / (steps - 1);
    }

    private double y(double value) {
        double plot = PLOT_HEIGHT - TOP - BOTTOM;
        return TOP + plot * (high - value) / (high - low);
    }
}
