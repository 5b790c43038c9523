package main

import (
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/tinorodney/rebalancer/evictor/whatif"
)

var (
	oursColor  = color.RGBA{0x1c, 0x7e, 0xd6, 255}
	deschColor = color.RGBA{0xe8, 0x59, 0x0c, 255}
)

// plotRows draws sigma against cumulative evictions, the Rebalancer's and descheduler's, one
// panel per cluster: a row per cluster size, a column per node mix and skew.
func plotRows(rows []row, path string) error {
	cols := min(2*len(skews), len(rows))
	grid := make([][]*plot.Plot, (len(rows)+cols-1)/cols)
	for i, r := range rows {
		p := plot.New()
		p.Title.Text = r.sc.name
		p.X.Label.Text = "cumulative evictions"
		p.Y.Label.Text = "sigma"
		for _, x := range []struct {
			res    whatif.Result
			colour color.RGBA
			dashed bool
		}{{r.ours, oursColor, false}, {r.desch, deschColor, true}} {
			// Sigma at the start of each cycle against the evictions made before it, then after
			// each eviction of the cycle.
			pts := make(plotter.XYs, 0, len(x.res.Cycles)+x.res.Evictions)
			for _, c := range x.res.Cycles {
				before := c.Total - c.Evictions
				pts = append(pts, plotter.XY{X: float64(before), Y: c.Sigma})
				for i, after := range c.AfterEach {
					pts = append(pts, plotter.XY{X: float64(before + i + 1), Y: after})
				}
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			l.Color, l.Width = x.colour, vg.Points(1.5)
			if x.dashed {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l)
			p.Legend.Add(x.res.Decider, l)
		}
		p.Y.Min = 0
		p.Legend.Top = true
		grid[i/cols] = append(grid[i/cols], p)
	}
	for len(grid[len(grid)-1]) < cols { // plot.Align wants full rows
		blank := plot.New()
		blank.HideAxes()
		grid[len(grid)-1] = append(grid[len(grid)-1], blank)
	}
	img := vgimg.New(vg.Length(cols)*3.2*vg.Inch, vg.Length(len(grid))*2.6*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(grid), Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(grid, tiles, dc)
	for j := range grid {
		for i := range grid[j] {
			grid[j][i].Draw(canvases[j][i])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
