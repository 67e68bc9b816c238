package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.GenerationPhase;
import dev.asyncdiff.api.StepProgress;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ProgressBarTest {
    @Test
    void logsATenthOfTheStepsWhenNotOnATerminal() {
        StringWriter text = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(text), false);
        bar.onPhase(GenerationPhase.DENOISE);
        for (int step = 1; step <= 20; step++) {
            bar.onStep(new StepProgress(step, 20, step == 1 ? StepProgress.Phase.WARM_UP : StepProgress.Phase.PARALLEL,
                    Duration.ofMillis(100L * step)));
        }
        bar.onPhase(GenerationPhase.DECODE);
        assertThat(text.toString()).doesNotContain("\r");
        assertThat(text.toString().lines()).containsExactly("asyncdiff: denoising …",
                "  [###...........................] 2/20 parallel 10.00 it/s",
                "  [######........................] 4/20 parallel 10.00 it/s",
                "  [#########.....................] 6/20 parallel 10.00 it/s",
                "  [############..................] 8/20 parallel 10.00 it/s",
                "  [###############...............] 10/20 parallel 10.00 it/s",
                "  [##################............] 12/20 parallel 10.00 it/s",
                "  [#####################.........] 14/20 parallel 10.00 it/s",
                "  [########################......] 16/20 parallel 10.00 it/s",
                "  [###########################...] 18/20 parallel 10.00 it/s",
                "  [##############################] 20/20 parallel 10.00 it/s",
                "asyncdiff: decoding …");
    }

    @Test
    void redrawsInPlaceOnATerminalAndEndsTheLineBeforeTheNextPhase() {
        StringWriter text = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(text), true);
        bar.onStep(new StepProgress(1, 2, StepProgress.Phase.WARM_UP, Duration.ofSeconds(1)));
        bar.onStep(new StepProgress(2, 2, StepProgress.Phase.PARALLEL, Duration.ofSeconds(1)));
        bar.onPhase(GenerationPhase.DECODE);
        assertThat(text.toString()).isEqualTo("\r  [###############...............] 1/2 warm-up  1.00 it/s"
                + "\r  [##############################] 2/2 parallel 2.00 it/s" + System.lineSeparator()
                + "asyncdiff: decoding …" + System.lineSeparator());
    }
}
